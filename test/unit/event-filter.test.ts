import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../shared/domain/errors.js';
import { compileFilters, filterInputOf } from '../../shared/domain/event-filter.js';

const matches = (pattern: unknown, value: unknown) =>
  compileFilters([typeof pattern === 'string' ? pattern : JSON.stringify(pattern)])(
    filterInputOf(
      value === null ? null : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    ),
  );

describe('compileFilters', () => {
  it('passes every record without patterns', () => {
    expect(compileFilters([])(filterInputOf(null))).toBe(true);
  });

  it.each([
    ['equals a string', { value: { city: ['Seattle'] } }, { city: 'Seattle' }, true],
    ['equals a number', { value: { n: [7] } }, { n: 7 }, true],
    ['equals a boolean', { value: { ok: [true] } }, { ok: false }, false],
    ['null', { value: { user: [null] } }, { user: null }, true],
    ['null is not absent', { value: { user: [null] } }, {}, false],
    ['empty string', { value: { last: [''] } }, { last: '' }, true],
    ['prefix', { value: { region: [{ prefix: 'us-' }] } }, { region: 'us-east-1' }, true],
    ['suffix', { value: { file: [{ suffix: '.png' }] } }, { file: 'a.jpg' }, false],
    ['equals-ignore-case', { value: { name: [{ 'equals-ignore-case': 'ALICE' }] } }, { name: 'alice' }, true],
    [
      'anything-but list',
      { value: { weather: [{ 'anything-but': ['Raining'] }] } },
      { weather: 'Sunny' },
      true,
    ],
    [
      'anything-but excludes',
      { value: { weather: [{ 'anything-but': 'Raining' }] } },
      { weather: 'Raining' },
      false,
    ],
    ['anything-but needs the field', { value: { weather: [{ 'anything-but': ['Raining'] }] } }, {}, false],
    [
      'anything-but prefix',
      { value: { id: [{ 'anything-but': { prefix: 'tmp-' } }] } },
      { id: 'tmp-1' },
      false,
    ],
    ['numeric equals', { value: { price: [{ numeric: ['=', 100] }] } }, { price: 100.0 }, true],
    ['numeric range', { value: { price: [{ numeric: ['>', 10, '<=', 20] }] } }, { price: 20 }, true],
    [
      'numeric range excludes',
      { value: { price: [{ numeric: ['>', 10, '<=', 20] }] } },
      { price: 10 },
      false,
    ],
    ['numeric on a string', { value: { price: [{ numeric: ['>', 1] }] } }, { price: '5' }, false],
    ['exists', { value: { id: [{ exists: true }] } }, { id: 0 }, true],
    ['does not exist', { value: { id: [{ exists: false }] } }, { other: 1 }, true],
    ['nested fields', { value: { a: { b: ['x'] } } }, { a: { b: 'x' } }, true],
    ['nested on a scalar', { value: { a: { b: ['x'] } } }, { a: 'x' }, false],
    ['rules of a field are ORed', { value: { t: ['a', 'b'] } }, { t: 'b' }, true],
    ['fields are ANDed', { value: { t: ['a'], u: ['b'] } }, { t: 'a', u: 'c' }, false],
    ['arrays match an element', { value: { tags: ['red'] } }, { tags: ['blue', 'red'] }, true],
    ['$or across fields', { value: { $or: [{ a: [1] }, { b: [2] }] } }, { b: 2 }, true],
    ['$or none', { value: { $or: [{ a: [1] }, { b: [2] }] } }, { a: 2, b: 1 }, false],
    ['plain string value', { value: [{ prefix: 'Hello' }] }, 'Hello, world', true],
    ['JSON string value', { value: ['abc'] }, '"abc"', true],
    ['a null value has no value', { value: [{ exists: false }] }, null, true],
  ])('%s', (_name, pattern, value, expected) => {
    expect(matches(pattern, value)).toBe(expected);
  });

  it('delivers a record that matches any of several patterns', () => {
    const filter = compileFilters(['{"value": {"a": [1]}}', '{"value": {"b": [2]}}']);
    expect(filter(filterInputOf(Buffer.from('{"b":2}')))).toBe(true);
    expect(filter(filterInputOf(Buffer.from('{"c":3}')))).toBe(false);
  });

  it.each([
    ['not JSON', 'nope', /not valid JSON/],
    ['not an object', '["value"]', /must be a JSON object/],
    ['another top-level key', '{"key": ["a"]}', /filtered on their value only/],
    ['an empty pattern', '{}', /empty pattern/],
    ['empty rules', '{"value": {"a": []}}', /empty array/],
    ['a scalar instead of rules', '{"value": {"a": 1}}', /array of rules/],
    ['an unknown operator', '{"value": {"a": [{"wildcard": "*"}]}}', /unknown operator "wildcard"/],
    ['two operators in one object', '{"value": {"a": [{"prefix": "x", "suffix": "y"}]}}', /exactly one key/],
    ['a bad numeric operator', '{"value": {"a": [{"numeric": ["!=", 1]}]}}', /numeric" operators/],
    ['a bad numeric range', '{"value": {"a": [{"numeric": ["<", 1, ">", 5]}]}}', /range/],
    ['prefix on a number', '{"value": {"a": [{"prefix": 1}]}}', /takes a string/],
    ['$or with one alternative', '{"value": {"$or": [{"a": [1]}]}}', /at least two/],
  ])('fails when the pattern is %s, naming the filter', (_name, pattern, message) => {
    const fail = () => compileFilters(['{"value": ["ok"]}', pattern]);
    expect(fail).toThrow(InvalidRequestError);
    expect(fail).toThrow(message);
    try {
      fail();
    } catch (error) {
      expect((error as InvalidRequestError).field).toBe('filters[1].pattern');
    }
  });

  it('fails when a pattern is longer than Lambda allows', () => {
    expect(() => compileFilters([`{"value": ["${'x'.repeat(4100)}"]}`])).toThrow(/at most 4096 characters/);
  });
});
