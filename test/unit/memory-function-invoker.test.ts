/**
 * The in-memory function invoker answers as the Lambda invoker does: the JSON answer, a function
 * error named by the error thrown, `unavailable` for a function that is not there.
 */
import { describe, expect, it } from 'vitest';
import { MemoryFunctionInvoker } from '../../shared/adapters/memory/function-invoker.js';

const target = { functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:f' };

describe('MemoryFunctionInvoker', () => {
  it('calls the handler with a copy of the event and answers its JSON result', async () => {
    const invoker = new MemoryFunctionInvoker();
    invoker.register(target.functionArn, (event) => ({ seen: event, at: new Date(0) }), 60_000);

    const result = await invoker.invoke(target, '{"records":[1,2]}');

    expect(result).toEqual({
      kind: 'returned',
      answer: { seen: { records: [1, 2] }, at: '1970-01-01T00:00:00.000Z' },
    });
    expect(invoker.invocations).toEqual([{ name: target.functionArn, event: { records: [1, 2] } }]);
    expect(await invoker.timeoutMs(target)).toBe(60_000);
  });

  it('answers a function error for a handler that throws', async () => {
    const invoker = new MemoryFunctionInvoker();
    invoker.register(target.functionArn, () => {
      throw new TypeError('bad record');
    });

    expect(await invoker.invoke(target, '{}')).toEqual({
      kind: 'function-error',
      errorType: 'TypeError',
      errorMessage: 'bad record',
    });
  });

  it('answers unavailable for a function that is not registered, without counting an invocation', async () => {
    const invoker = new MemoryFunctionInvoker();

    const result = await invoker.invoke(target, '{}');

    expect(result.kind).toBe('unavailable');
    expect(invoker.invocations).toEqual([]);
    expect(await invoker.timeoutMs(target)).toBe(3_000);
  });

  it('takes the timeout of a module target from the target', async () => {
    const invoker = new MemoryFunctionInvoker();
    invoker.register('handlers/f.mjs', async () => undefined);
    const moduleTarget = { module: 'handlers/f.mjs', handler: 'handler', timeoutMs: 9_000 };

    expect(await invoker.timeoutMs(moduleTarget)).toBe(9_000);
    expect(await invoker.invoke(moduleTarget, '{}')).toEqual({ kind: 'returned', answer: undefined });
  });
});
