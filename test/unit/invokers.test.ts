import type { LambdaClient } from '@aws-sdk/client-lambda';
import { describe, expect, it } from 'vitest';
import { ModuleInvoker } from '../../local/module-invoker.js';
import { LambdaInvoker } from '../../shared/adapters/lambda/lambda-invoker.js';

const STYLES = 'test/fixtures/subscribers/styles.mjs';
const target = (handler: string, timeoutMs = 1_000) => ({ module: STYLES, handler, timeoutMs });
const payload = JSON.stringify({ n: 7 });

describe('ModuleInvoker', () => {
  const invoker = new ModuleInvoker();

  it('returns the answer of an async handler, given a Lambda-like context', async () => {
    expect(await invoker.invoke(target('asyncAnswer'), payload)).toEqual({
      kind: 'returned',
      answer: { got: 7, remaining: true },
    });
  });

  it('returns the answer a callback handler passes', async () => {
    expect(await invoker.invoke(target('callbackAnswer'), payload)).toEqual({
      kind: 'returned',
      answer: { got: 7 },
    });
  });

  it('returns no answer for a handler that returns nothing', async () => {
    expect(await invoker.invoke(target('returnsUndefined'), payload)).toEqual({
      kind: 'returned',
      answer: undefined,
    });
  });

  it('reports a thrown error as a function error', async () => {
    expect(await invoker.invoke(target('throws'), payload)).toEqual({
      kind: 'function-error',
      errorType: 'RangeError',
      errorMessage: 'out of range',
    });
  });

  it('reports a handler past its timeout as timed out, without waiting for it', async () => {
    // The handler never settles: an invoker that waited for it would never answer.
    const result = await invoker.invoke(target('neverSettles', 50), payload);
    expect(result).toEqual({
      kind: 'function-error',
      errorType: 'Sandbox.Timedout',
      errorMessage: 'Task timed out after 0.05 seconds',
    });
  });

  it('fails when the export is not a function, as Lambda does', async () => {
    expect(await invoker.invoke(target('notAFunction'), payload)).toMatchObject({
      kind: 'function-error',
      errorType: 'Runtime.HandlerNotFound',
    });
  });

  it('fails when the module does not exist', async () => {
    expect(
      await invoker.invoke({ module: 'nowhere.mjs', handler: 'handler', timeoutMs: 100 }, payload),
    ).toMatchObject({
      kind: 'function-error',
      errorType: 'Runtime.ImportModuleError',
    });
  });

  it('fails for a function ARN, which only AWS can invoke', async () => {
    await expect(
      invoker.timeoutMs({ functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:f' }),
    ).rejects.toThrow(/module targets only/);
  });
});

/** A LambdaClient stand-in answering each command from a table. */
function fakeLambda(answers: Record<string, (input: any) => unknown>) {
  const calls: { command: string; input: any }[] = [];
  const client = {
    send: async (command: { constructor: { name: string }; input: unknown }) => {
      const name = command.constructor.name;
      calls.push({ command: name, input: command.input });
      const answer = answers[name];
      if (!answer) throw new Error(`unexpected ${name}`);
      return answer(command.input);
    },
  };
  return { client: client as unknown as LambdaClient, calls };
}

describe('LambdaInvoker', () => {
  const fn = { functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:billing' };

  it('invokes RequestResponse with the event and returns the parsed answer', async () => {
    const { client, calls } = fakeLambda({
      GetFunctionConfigurationCommand: () => ({ Timeout: 30 }),
      InvokeCommand: () => ({ StatusCode: 200, Payload: Buffer.from('{"batchItemFailures":[]}') }),
    });
    const result = await new LambdaInvoker(client).invoke(fn, payload);
    expect(result).toEqual({ kind: 'returned', answer: { batchItemFailures: [] } });
    const invoke = calls.find((call) => call.command === 'InvokeCommand');
    expect(invoke?.input).toMatchObject({ FunctionName: fn.functionArn, InvocationType: 'RequestResponse' });
    expect(Buffer.from(invoke?.input.Payload).toString()).toBe(payload);
  });

  it("reads the function's timeout once and remembers it", async () => {
    const { client, calls } = fakeLambda({ GetFunctionConfigurationCommand: () => ({ Timeout: 45 }) });
    const invoker = new LambdaInvoker(client);
    expect(await invoker.timeoutMs(fn)).toBe(45_000);
    expect(await invoker.timeoutMs(fn)).toBe(45_000);
    expect(calls).toHaveLength(1);
  });

  it('reports a FunctionError with its type and message', async () => {
    const { client } = fakeLambda({
      GetFunctionConfigurationCommand: () => ({ Timeout: 3 }),
      InvokeCommand: () => ({
        StatusCode: 200,
        FunctionError: 'Unhandled',
        Payload: Buffer.from('{"errorType":"Error","errorMessage":"boom","trace":[]}'),
      }),
    });
    expect(await new LambdaInvoker(client).invoke(fn, payload)).toEqual({
      kind: 'function-error',
      errorType: 'Error',
      errorMessage: 'boom',
    });
  });

  it('reports a refused invocation as unavailable, not as the records’ fault', async () => {
    const { client } = fakeLambda({
      GetFunctionConfigurationCommand: () => ({ Timeout: 3 }),
      InvokeCommand: () => {
        throw Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' });
      },
    });
    expect(await new LambdaInvoker(client).invoke(fn, payload)).toEqual({
      kind: 'unavailable',
      reason: 'TooManyRequestsException: Rate exceeded',
    });
  });

  it('fails for a module target, which runs on the local stack only', async () => {
    const { client } = fakeLambda({});
    await expect(new LambdaInvoker(client).invoke(target('asyncAnswer'), payload)).rejects.toThrow(
      /local stack only/,
    );
  });
});
