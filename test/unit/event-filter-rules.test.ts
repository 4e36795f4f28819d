/**
 * Lambda's event filtering (event-filter.ts), beyond the table of rules in event-filter.test.ts:
 * each rule on both sides of its edge (the numeric operators at their bound, a suffix that matches,
 * case folded on both sides), arrays matched element by element (as SNS and EventBridge document
 * for anything-but and numeric), `$or` beside plain fields and at the top level, the value read
 * from a view into a larger buffer, and each malformed pattern refused before any record is read.
 */
import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../shared/domain/errors.js';
import { compileFilters, filterInputOf } from '../../shared/domain/event-filter.js';

const matches = (pattern: unknown, value: unknown) =>
  compileFilters([JSON.stringify(pattern)])(filterInputOf(Buffer.from(JSON.stringify(value))));

const field = (rules: unknown[]) => ({ value: { x: rules } });

describe('numeric rules at their bounds', () => {
  it.each([
    ['=', 5, 5, true],
    ['=', 5, 5.5, false],
    ['<', 5, 4.9, true],
    ['<', 5, 5, false],
    ['<=', 5, 5, true],
    ['<=', 5, 5.1, false],
    ['>', 5, 5.1, true],
    ['>', 5, 5, false],
    ['>=', 5, 5, true],
    ['>=', 5, 4.9, false],
  ] as const)('%s %d on %d is %s', (op, bound, value, expected) => {
    expect(matches(field([{ numeric: [op, bound] }]), { x: value })).toBe(expected);
  });

  it('takes a range from >= low to < high, both ends checked', () => {
    const range = field([{ numeric: ['>=', 0, '<', 10] }]);

    expect(matches(range, { x: 0 })).toBe(true);
    expect(matches(range, { x: 9.99 })).toBe(true);
    expect(matches(range, { x: -0.01 })).toBe(false);
    expect(matches(range, { x: 10 })).toBe(false);
  });

  it('matches a numeric rule by value, whatever the JSON spelling of the number', () => {
    expect(matches(field([{ numeric: ['=', 301.5] }]), { x: 3.015e2 })).toBe(true);
    expect(
      compileFilters(['{"value": {"x": [{"numeric": ["=", 300]}]}}'])(
        filterInputOf(Buffer.from('{"x":3.0e2}')),
      ),
    ).toBe(true);
  });

  it('matches a field holding an array of numbers when one element is in range', () => {
    expect(matches(field([{ numeric: ['>', 5] }]), { x: [1, 10] })).toBe(true);
    expect(matches(field([{ numeric: ['>', 5] }]), { x: [1, 2] })).toBe(false);
  });

  it('never matches a boolean or null with a numeric rule', () => {
    expect(matches(field([{ numeric: ['>=', 0] }]), { x: true })).toBe(false);
    expect(matches(field([{ numeric: ['>=', 0] }]), { x: null })).toBe(false);
  });
});

describe('string rules', () => {
  it('matches a suffix at the end only', () => {
    expect(matches(field([{ suffix: '.png' }]), { x: 'cat.png' })).toBe(true);
    expect(matches(field([{ suffix: '.png' }]), { x: '.png.jpg' })).toBe(false);
  });

  it('matches a prefix at the start only', () => {
    expect(matches(field([{ prefix: 'us-' }]), { x: 'us-east-1' })).toBe(true);
    expect(matches(field([{ prefix: 'us-' }]), { x: 'eu-us-' })).toBe(false);
  });

  it('folds the case of the value as well as of the rule', () => {
    expect(matches(field([{ 'equals-ignore-case': 'alice' }]), { x: 'ALICE' })).toBe(true);
    expect(matches(field([{ 'equals-ignore-case': 'AlIcE' }]), { x: 'aLiCe' })).toBe(true);
    expect(matches(field([{ 'equals-ignore-case': 'alice' }]), { x: 'alicia' })).toBe(false);
  });

  it('never matches a number with a string rule', () => {
    expect(matches(field([{ prefix: '1' }]), { x: 12 })).toBe(false);
    expect(matches(field([{ suffix: '2' }]), { x: 12 })).toBe(false);
    expect(matches(field([{ 'equals-ignore-case': '12' }]), { x: 12 })).toBe(false);
    expect(matches(field(['12']), { x: 12 })).toBe(false);
  });

  it('matches anything but a prefix when the string does not begin with it', () => {
    const rule = field([{ 'anything-but': { prefix: 'tmp-' } }]);

    expect(matches(rule, { x: 'final-1' })).toBe(true);
    expect(matches(rule, { x: 'tmp-1' })).toBe(false);
    expect(matches(rule, {})).toBe(false);
  });
});

describe('anything-but', () => {
  it('excludes numbers, booleans and null as well as strings', () => {
    const rule = field([{ 'anything-but': [100, false, null, 'x'] }]);

    expect(matches(rule, { x: 100 })).toBe(false);
    expect(matches(rule, { x: false })).toBe(false);
    expect(matches(rule, { x: null })).toBe(false);
    expect(matches(rule, { x: 'x' })).toBe(false);
    expect(matches(rule, { x: 101 })).toBe(true);
    expect(matches(rule, { x: true })).toBe(true);
    expect(matches(rule, { x: 'y' })).toBe(true);
  });

  it('matches an array holding one value that is not excluded, as SNS documents', () => {
    const rule = field([{ 'anything-but': [100, 500] }]);

    expect(matches(rule, { x: [100, 50] })).toBe(true);
    expect(matches(rule, { x: [100, 500] })).toBe(false);
  });
});

describe('exists', () => {
  it('takes a field holding null as present', () => {
    expect(matches(field([{ exists: true }]), { x: null })).toBe(true);
    expect(matches(field([{ exists: false }]), { x: null })).toBe(false);
  });

  it('does not take an absent field as present, nor a present one as absent', () => {
    expect(matches(field([{ exists: true }]), { y: 1 })).toBe(false);
    expect(matches(field([{ exists: false }]), { x: 1 })).toBe(false);
  });

  it('looks at the record’s own fields only, not at what every object inherits', () => {
    expect(matches({ value: { toString: [{ exists: true }] } }, {})).toBe(false);
    expect(matches({ value: { toString: [{ exists: false }] } }, {})).toBe(true);
  });

  it('ORs exists with the other rules of the field', () => {
    const rule = field([{ exists: false }, 'a']);

    expect(matches(rule, {})).toBe(true);
    expect(matches(rule, { x: 'a' })).toBe(true);
    expect(matches(rule, { x: 'b' })).toBe(false);
  });
});

describe('patterns', () => {
  it('ANDs the fields beside $or with one of its alternatives', () => {
    const pattern = { value: { a: [1], $or: [{ b: [2] }, { c: [3] }] } };

    expect(matches(pattern, { a: 1, c: 3 })).toBe(true);
    expect(matches(pattern, { a: 1, b: 3, c: 2 })).toBe(false);
    expect(matches(pattern, { a: 2, b: 2 })).toBe(false);
  });

  it('takes $or at the top level, between patterns of the value', () => {
    const filter = compileFilters(['{"$or": [{"value": {"a": [1]}}, {"value": [{"prefix": "x"}]}]}']);

    expect(filter(filterInputOf(Buffer.from('{"a":1}')))).toBe(true);
    expect(filter(filterInputOf(Buffer.from('xyz')))).toBe(true);
    expect(filter(filterInputOf(Buffer.from('{"a":2}')))).toBe(false);
  });

  it('matches nested objects two levels down', () => {
    const pattern = { value: { order: { customer: { tier: ['gold'] } } } };

    expect(matches(pattern, { order: { customer: { tier: 'gold' } } })).toBe(true);
    expect(matches(pattern, { order: { customer: { tier: 'silver' } } })).toBe(false);
    expect(matches(pattern, { order: {} })).toBe(false);
  });

  it('reads the value of a view into a larger buffer, not the bytes around it', () => {
    const bytes = Buffer.from('xx{"a":1}yy');
    const view = new Uint8Array(bytes.buffer, bytes.byteOffset + 2, 7);
    const filter = compileFilters(['{"value": {"a": [1]}}']);

    expect(filterInputOf(view)).toEqual({ value: { a: 1 } });
    expect(filter(filterInputOf(view))).toBe(true);
  });

  it('reads a value that is not JSON as its text', () => {
    expect(filterInputOf(Buffer.from('{"a":'))).toEqual({ value: '{"a":' });
  });
});

describe('compileFilters refusals', () => {
  const refusal = (pattern: string): InvalidRequestError => {
    try {
      compileFilters([pattern]);
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect((error as InvalidRequestError).field).toBe('filters[0].pattern');
      return error as InvalidRequestError;
    }
    throw new Error(`expected ${pattern} to be refused`);
  };

  it.each([
    ['a number too large to be finite', '{"value": {"a": [1e999]}}', /finite/],
    ['a rule that is an array', '{"value": {"a": [["x"]]}}', /a value or an operator object/],
    ['an empty operator object', '{"value": {"a": [{}]}}', /exactly one key/],
    ['suffix on a number', '{"value": {"a": [{"suffix": 1}]}}', /"suffix" takes a string/],
    ['equals-ignore-case on a number', '{"value": {"a": [{"equals-ignore-case": 1}]}}', /takes a string/],
    ['exists with a string', '{"value": {"a": [{"exists": "yes"}]}}', /"exists" takes true or false/],
    ['anything-but with an empty list', '{"value": {"a": [{"anything-but": []}]}}', /at least one value/],
    [
      'anything-but with an object in its list',
      '{"value": {"a": [{"anything-but": [{}]}]}}',
      /compares with/,
    ],
    ['anything-but with a suffix', '{"value": {"a": [{"anything-but": {"suffix": "x"}}]}}', /\{"prefix"/],
    [
      'anything-but with a number prefix',
      '{"value": {"a": [{"anything-but": {"prefix": 1}}]}}',
      /\{"prefix"/,
    ],
    [
      'anything-but with a prefix and more',
      '{"value": {"a": [{"anything-but": {"prefix": "x", "suffix": "y"}}]}}',
      /\{"prefix"/,
    ],
    ['numeric with a number', '{"value": {"a": [{"numeric": 5}]}}', /\[operator, number\]/],
    ['numeric with three members', '{"value": {"a": [{"numeric": [">", 1, "<"]}]}}', /\[operator, number\]/],
    ['numeric with one member', '{"value": {"a": [{"numeric": [">"]}]}}', /\[operator, number\]/],
    ['numeric with a number for operator', '{"value": {"a": [{"numeric": [1, 1]}]}}', /operators are/],
    ['numeric with a string bound', '{"value": {"a": [{"numeric": [">", "1"]}]}}', /finite numbers/],
    ['numeric with an infinite bound', '{"value": {"a": [{"numeric": [">", 1e999]}]}}', /finite numbers/],
    ['a range whose upper operator is >', '{"value": {"a": [{"numeric": [">", 1, ">", 5]}]}}', /range/],
    ['a range whose lower operator is =', '{"value": {"a": [{"numeric": ["=", 1, "<", 5]}]}}', /range/],
    ['a bad operator in a range', '{"value": {"a": [{"numeric": [">", 1, "!", 5]}]}}', /operators are/],
    ['$or that is not an array', '{"value": {"$or": {"a": [1]}}}', /at least two/],
    ['$or with a scalar alternative', '{"value": {"$or": [{"a": [1]}, 2]}}', /must be a JSON object/],
    ['a top-level $or with another key', '{"$or": [{"value": [1]}, {"key": [2]}]}', /value only/],
    ['a nested field that is null', '{"value": {"a": null}}', /array of rules/],
  ])('fails when the pattern has %s', (_name, pattern, message) => {
    expect(refusal(pattern).message).toMatch(message);
  });

  it('takes a pattern of exactly 4096 characters', () => {
    const pattern = `{"value": ["${'x'.repeat(4096 - 15)}"]}`;

    expect(pattern).toHaveLength(4096);
    expect(() => compileFilters([pattern])).not.toThrow();
    expect(refusal(`${pattern} `).message).toContain('got 4097');
  });

  it('takes a numeric range with >= and <, and a single < or <= comparison', () => {
    expect(() => compileFilters(['{"value": {"a": [{"numeric": [">=", 1, "<", 5]}]}}'])).not.toThrow();
    expect(() => compileFilters(['{"value": {"a": [{"numeric": ["<", 5]}]}}'])).not.toThrow();
    expect(() => compileFilters(['{"value": {"a": [{"numeric": ["<=", 5]}]}}'])).not.toThrow();
  });
});
