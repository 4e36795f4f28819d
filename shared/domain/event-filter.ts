/**
 * Lambda's event filtering, for Kafka records: a subscription's filters are JSON patterns on the
 * record `value`, and a record reaches the function when it matches at least one of them (filters
 * are ORed; the fields inside one pattern are ANDed). As in Lambda, a value that is valid JSON is
 * matched as JSON, any other value as its UTF-8 text, and only the `value` key may be filtered on.
 *
 * The rules Lambda documents, each a member of a field's array (the members are ORed):
 * | rule                 | pattern                                   | matches                          |
 * |----------------------|-------------------------------------------|----------------------------------|
 * | equals               | `"City": ["Seattle", 7, true]`            | that string, number or boolean   |
 * | null                 | `"UserID": [null]`                        | the value null                   |
 * | empty                | `"LastName": [""]`                        | the empty string                 |
 * | begins / ends with   | `[{"prefix": "us-"}]`, `[{"suffix": ".png"}]` | strings                      |
 * | equals ignoring case | `[{"equals-ignore-case": "alice"}]`       | strings                          |
 * | not                  | `[{"anything-but": ["Raining"]}]`, `[{"anything-but": {"prefix": "x"}}]` | present values |
 * | numeric              | `[{"numeric": [">", 0, "<=", 5]}]`        | numbers                          |
 * | exists               | `[{"exists": true}]`, `[{"exists": false}]` | presence or absence of the field |
 * | or across fields     | `"$or": [{"a": [1]}, {"b": [2]}]`         | any alternative                  |
 *
 * A field holding a JSON array matches when one of its elements does.
 *
 * @example
 * const matches = compileFilters(['{"value": {"device_ID": [{"prefix": "AB"}]}}']);
 * matches(filterInputOf(Buffer.from('{"device_ID":"AB1234"}'))); // true
 */
import { InvalidRequestError } from './errors.js';

/** What a pattern sees of a record: its value, parsed. */
export interface FilterInput {
  /** The value as JSON when it parses, its UTF-8 text otherwise; `MISSING` for a null value. */
  readonly value: unknown;
}

/** Marks a field the record does not have. */
const MISSING: unique symbol = Symbol('missing');

type Rule =
  | null
  | string
  | number
  | boolean
  | { readonly kind: 'prefix' | 'suffix' | 'equals-ignore-case'; readonly text: string }
  | { readonly kind: 'anything-but'; readonly values: readonly (string | number | boolean | null)[] }
  | { readonly kind: 'anything-but-prefix'; readonly text: string }
  | { readonly kind: 'numeric'; readonly comparisons: readonly { op: NumericOp; bound: number }[] }
  | { readonly kind: 'exists'; readonly exists: boolean };

type NumericOp = '=' | '<' | '<=' | '>' | '>=';
const NUMERIC_OPS = new Set<string>(['=', '<', '<=', '>', '>=']);

interface CompiledPattern {
  readonly fields: readonly { readonly name: string; readonly match: CompiledPattern | readonly Rule[] }[];
  /** The alternatives of `$or`, one of which must match besides `fields`; empty without `$or`. */
  readonly anyOf: readonly CompiledPattern[];
}

/** A compiled set of filters: true when the record should be delivered. */
export type RecordFilter = (input: FilterInput) => boolean;

/** The filter input of a record value (its bytes; null for Kafka's null value). */
export function filterInputOf(value: Uint8Array | null): FilterInput {
  if (value === null) return { value: MISSING };
  const text = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return { value: text };
  }
}

/**
 * Compiles patterns (JSON text, as Lambda's `FilterCriteria.Filters[].Pattern`). With no pattern
 * every record passes.
 *
 * @throws InvalidRequestError naming `filters[i].pattern` and what is wrong with it.
 */
export function compileFilters(patterns: readonly string[]): RecordFilter {
  const compiled = patterns.map((pattern, index) => compileTopLevel(pattern, `filters[${index}].pattern`));
  if (compiled.length === 0) return () => true;
  return (input) => {
    const record = { value: input.value };
    return compiled.some((pattern) => matchPattern(pattern, record));
  };
}

function compileTopLevel(text: string, field: string): CompiledPattern {
  if (text.length > 4096) {
    throw new InvalidRequestError(
      `${field}: a pattern is at most 4096 characters, got ${text.length}`,
      field,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InvalidRequestError(`${field}: not valid JSON (${(error as Error).message})`, field);
  }
  const compiled = compilePattern(json, field, []);
  checkTopLevelKeys(compiled, field);
  return compiled;
}

/** Kafka sources filter on the record value only, as in Lambda. */
function checkTopLevelKeys(pattern: CompiledPattern, field: string): void {
  for (const { name } of pattern.fields) {
    if (name !== 'value') {
      throw new InvalidRequestError(
        `${field}: Kafka records are filtered on their value only, so the pattern's top level is {"value": ...}; found "${name}"`,
        field,
      );
    }
  }
  for (const alternative of pattern.anyOf) checkTopLevelKeys(alternative, field);
  if (pattern.fields.length === 0 && pattern.anyOf.length === 0) {
    throw new InvalidRequestError(`${field}: an empty pattern filters nothing; give {"value": ...}`, field);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function compilePattern(json: unknown, field: string, path: readonly string[]): CompiledPattern {
  const where = path.length === 0 ? 'the pattern' : `"${path.join('.')}"`;
  if (!isPlainObject(json)) {
    throw new InvalidRequestError(`${field}: ${where} must be a JSON object`, field);
  }
  const fields: { name: string; match: CompiledPattern | Rule[] }[] = [];
  const anyOf: CompiledPattern[] = [];
  for (const [name, value] of Object.entries(json)) {
    if (name === '$or') {
      if (!Array.isArray(value) || value.length < 2) {
        throw new InvalidRequestError(
          `${field}: "$or" in ${where} takes an array of at least two patterns`,
          field,
        );
      }
      value.forEach((alternative, index) => {
        anyOf.push(compilePattern(alternative, field, [...path, `$or[${index}]`]));
      });
    } else if (Array.isArray(value)) {
      if (value.length === 0) {
        throw new InvalidRequestError(
          `${field}: the rules of "${[...path, name].join('.')}" are an empty array, which matches nothing`,
          field,
        );
      }
      fields.push({ name, match: value.map((rule) => compileRule(rule, field, [...path, name])) });
    } else if (isPlainObject(value)) {
      fields.push({ name, match: compilePattern(value, field, [...path, name]) });
    } else {
      throw new InvalidRequestError(
        `${field}: "${[...path, name].join('.')}" must be an array of rules or a nested pattern object, got ${JSON.stringify(value)}`,
        field,
      );
    }
  }
  return { fields, anyOf };
}

function compileRule(rule: unknown, field: string, path: readonly string[]): Rule {
  const where = `"${path.join('.')}"`;
  const fail = (detail: string): never => {
    throw new InvalidRequestError(`${field}: ${where}: ${detail}`, field);
  };
  if (rule === null || typeof rule === 'string' || typeof rule === 'boolean') return rule;
  if (typeof rule === 'number') {
    if (!Number.isFinite(rule)) fail('numbers must be finite');
    return rule;
  }
  if (!isPlainObject(rule))
    return fail(`a rule is a value or an operator object, got ${JSON.stringify(rule)}`);
  const entries = Object.entries(rule);
  const [entry] = entries;
  if (!entry || entries.length !== 1)
    return fail(`an operator object has exactly one key, got ${JSON.stringify(rule)}`);
  const [operator, operand] = entry;
  switch (operator) {
    case 'prefix':
    case 'suffix':
    case 'equals-ignore-case':
      if (typeof operand !== 'string') return fail(`"${operator}" takes a string`);
      return { kind: operator, text: operand };
    case 'exists':
      if (typeof operand !== 'boolean') return fail('"exists" takes true or false');
      return { kind: 'exists', exists: operand };
    case 'anything-but':
      return compileAnythingBut(operand, fail);
    case 'numeric':
      return compileNumeric(operand, fail);
    default:
      return fail(
        `unknown operator "${operator}" (Lambda's filters know prefix, suffix, equals-ignore-case, anything-but, numeric and exists)`,
      );
  }
}

/** `{"anything-but": value | [values] | {"prefix": text}}`. */
function compileAnythingBut(operand: unknown, fail: (detail: string) => never): Rule {
  if (isPlainObject(operand)) {
    const prefix = operand.prefix;
    if (Object.keys(operand).length !== 1 || typeof prefix !== 'string') {
      return fail('"anything-but" takes a value, an array of values or {"prefix": "..."}');
    }
    return { kind: 'anything-but-prefix', text: prefix };
  }
  const values = Array.isArray(operand) ? operand : [operand];
  if (values.length === 0) return fail('"anything-but" needs at least one value');
  for (const value of values) {
    if (
      value !== null &&
      typeof value !== 'string' &&
      typeof value !== 'number' &&
      typeof value !== 'boolean'
    ) {
      return fail('"anything-but" compares with strings, numbers, booleans or null');
    }
  }
  return { kind: 'anything-but', values: values as (string | number | boolean | null)[] };
}

/** `{"numeric": [op, number]}` or a range `{"numeric": [">" | ">=", low, "<" | "<=", high]}`. */
function compileNumeric(operand: unknown, fail: (detail: string) => never): Rule {
  if (!Array.isArray(operand) || (operand.length !== 2 && operand.length !== 4)) {
    return fail('"numeric" takes [operator, number] or [operator, number, operator, number]');
  }
  const comparisons: { op: NumericOp; bound: number }[] = [];
  for (let index = 0; index < operand.length; index += 2) {
    const op = operand[index];
    const bound = operand[index + 1];
    if (typeof op !== 'string' || !NUMERIC_OPS.has(op)) {
      return fail(`"numeric" operators are =, <, <=, > and >=, got ${JSON.stringify(op)}`);
    }
    if (typeof bound !== 'number' || !Number.isFinite(bound))
      return fail('"numeric" compares with finite numbers');
    comparisons.push({ op: op as NumericOp, bound });
  }
  const [lower, upper] = comparisons;
  if (
    upper &&
    !(lower && (lower.op === '>' || lower.op === '>=') && (upper.op === '<' || upper.op === '<='))
  ) {
    return fail('a "numeric" range is [">" or ">=", low, "<" or "<=", high]');
  }
  return { kind: 'numeric', comparisons };
}

function fieldOf(container: unknown, name: string): unknown {
  return isPlainObject(container) && Object.hasOwn(container, name) ? container[name] : MISSING;
}

function matchPattern(pattern: CompiledPattern, container: unknown): boolean {
  for (const { name, match } of pattern.fields) {
    const value = fieldOf(container, name);
    const matched = Array.isArray(match)
      ? matchRules(match as readonly Rule[], value)
      : matchPattern(match as CompiledPattern, value);
    if (!matched) return false;
  }
  return (
    pattern.anyOf.length === 0 || pattern.anyOf.some((alternative) => matchPattern(alternative, container))
  );
}

function matchRules(rules: readonly Rule[], value: unknown): boolean {
  const present = value !== MISSING;
  const values = Array.isArray(value) ? value : [value];
  return rules.some((rule) => {
    if (isOperator(rule) && rule.kind === 'exists') return present === rule.exists;
    if (!present) return false;
    return values.some((candidate) => matchRule(rule, candidate));
  });
}

function isOperator(rule: Rule): rule is Extract<Rule, { kind: string }> {
  return typeof rule === 'object' && rule !== null;
}

function matchRule(rule: Rule, value: unknown): boolean {
  if (!isOperator(rule)) return value === rule;
  switch (rule.kind) {
    case 'prefix':
      return typeof value === 'string' && value.startsWith(rule.text);
    case 'suffix':
      return typeof value === 'string' && value.endsWith(rule.text);
    case 'equals-ignore-case':
      return typeof value === 'string' && value.toLowerCase() === rule.text.toLowerCase();
    case 'anything-but':
      return !rule.values.some((excluded) => excluded === value);
    case 'anything-but-prefix':
      return typeof value === 'string' && !value.startsWith(rule.text);
    case 'numeric':
      return (
        typeof value === 'number' && rule.comparisons.every(({ op, bound }) => compare(value, op, bound))
      );
    case 'exists':
      return true;
  }
}

function compare(value: number, op: NumericOp, bound: number): boolean {
  switch (op) {
    case '=':
      return value === bound;
    case '<':
      return value < bound;
    case '<=':
      return value <= bound;
    case '>':
      return value > bound;
    case '>=':
      return value >= bound;
  }
}
