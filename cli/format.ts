/**
 * What the CLI reads and prints, kept pure so it is unit-tested: input lines to records (kcat's
 * `-K` key separator), records to output lines (JSON lines, text, or a kcat-like format string),
 * and plain tables.
 */
import type { ConsumedRecord, ProducerRecord, TypedDataValue } from '../client/index.js';

/** How a produced key or value is read from its text. */
export type DataFormat = 'string' | 'json' | 'binary';

export const DATA_FORMATS: readonly DataFormat[] = ['string', 'json', 'binary'];

/** A line that cannot become a record: the CLI names the line and stops. */
export class LineError extends Error {
  override name = 'LineError';
}

/**
 * One input line to a record. With a separator, the text before its first occurrence is the key and
 * the rest the value (a line without it has no key, as in kcat); without one the line is the value.
 *
 * @example parseLine('order-42:{"total":12}', { keySeparator: ':', valueFormat: 'json' })
 */
export function parseLine(
  line: string,
  options: {
    readonly keySeparator?: string;
    readonly keyFormat?: DataFormat;
    readonly valueFormat?: DataFormat;
    readonly headers?: readonly { name: string; value: string }[];
    readonly partition?: number;
  },
): ProducerRecord {
  let keyText: string | undefined;
  let valueText = line;
  if (options.keySeparator !== undefined && options.keySeparator !== '') {
    const at = line.indexOf(options.keySeparator);
    if (at >= 0) {
      keyText = line.slice(0, at);
      valueText = line.slice(at + options.keySeparator.length);
    }
  }
  return {
    ...(keyText === undefined ? {} : { key: toData(keyText, options.keyFormat ?? 'string', 'key') }),
    value: toData(valueText, options.valueFormat ?? 'string', 'value'),
    ...(options.headers && options.headers.length > 0 ? { headers: options.headers } : {}),
    ...(options.partition === undefined ? {} : { partition: options.partition }),
  };
}

function toData(text: string, format: DataFormat, what: 'key' | 'value'): TypedDataValue {
  switch (format) {
    case 'string':
      return { type: 'STRING', data: text };
    case 'json':
      try {
        return { type: 'JSON', data: JSON.parse(text) } as TypedDataValue;
      } catch {
        throw new LineError(`the ${what} is not JSON: ${abbreviate(text)}`);
      }
    case 'binary': {
      const trimmed = text.trim();
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(trimmed) || trimmed.length % 4 !== 0) {
        throw new LineError(`the ${what} is not base64: ${abbreviate(text)}`);
      }
      return { type: 'BINARY', data: trimmed };
    }
  }
}

function abbreviate(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * A key or value for JSON output: JSON data as is, STRING as a string, BINARY as its base64 string.
 */
export function jsonData(data: TypedDataValue | null): unknown {
  if (data === null) return null;
  return data.data;
}

/** One record as a JSON line (without the newline). */
export function recordJson(record: ConsumedRecord): string {
  return JSON.stringify({
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
    key: jsonData(record.key),
    value: jsonData(record.value),
    headers: record.headers.map((header) => ({ name: header.name, value: header.value.toString('utf8') })),
  });
}

/** Key or value bytes as printed by text formats: STRING and BINARY raw, JSON serialized. */
export function dataOutputBytes(data: TypedDataValue | null): Buffer | null {
  if (data === null) return null;
  switch (data.type) {
    case 'STRING':
      return Buffer.from(data.data, 'utf8');
    case 'JSON':
      return Buffer.from(JSON.stringify(data.data), 'utf8');
    case 'BINARY':
      return Buffer.from(data.data, 'base64');
  }
}

/**
 * A kcat-like format string, compiled once. Tokens: `%t` topic, `%p` partition, `%o` offset,
 * `%k` key, `%s` value, `%K` / `%S` their length in bytes (-1 when null), `%T` timestamp (epoch ms),
 * `%h` headers (`name=value,...`), `%%` a percent sign; escapes `\n`, `\r`, `\t`, `\\`.
 *
 * @example compileFormat('%t [%p] at offset %o: key %k: %s\n')
 */
export function compileFormat(format: string): (record: ConsumedRecord) => Buffer {
  type Part = string | ((record: ConsumedRecord) => Buffer | string);
  const parts: Part[] = [];
  let literal = '';
  const flush = () => {
    if (literal !== '') parts.push(literal);
    literal = '';
  };
  for (let i = 0; i < format.length; i++) {
    const char = format[i] as string;
    const next = format[i + 1];
    if (char === '\\' && next !== undefined) {
      const escaped = ESCAPES[next];
      if (escaped !== undefined) {
        literal += escaped;
        i++;
        continue;
      }
    }
    if (char === '%' && next !== undefined) {
      const token = TOKENS[next];
      if (next === '%') {
        literal += '%';
        i++;
        continue;
      }
      if (token) {
        flush();
        parts.push(token);
        i++;
        continue;
      }
    }
    literal += char;
  }
  flush();
  return (record) =>
    Buffer.concat(
      parts.map((part) => {
        const value = typeof part === 'string' ? part : part(record);
        return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
      }),
    );
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\' };

const TOKENS: Record<string, (record: ConsumedRecord) => Buffer | string> = {
  t: (record) => record.topic,
  p: (record) => String(record.partition),
  o: (record) => String(record.offset),
  k: (record) => dataOutputBytes(record.key) ?? '',
  s: (record) => dataOutputBytes(record.value) ?? '',
  K: (record) => String(dataOutputBytes(record.key)?.length ?? -1),
  S: (record) => String(dataOutputBytes(record.value)?.length ?? -1),
  T: (record) => String(Date.parse(record.timestamp)),
  h: (record) => record.headers.map((header) => `${header.name}=${header.value.toString('utf8')}`).join(','),
};

/** The default text output: the value, or key, separator and value with `-K`, then a newline. */
export function textFormat(keySeparator: string | undefined): (record: ConsumedRecord) => Buffer {
  return (record) => {
    const value = dataOutputBytes(record.value) ?? Buffer.alloc(0);
    const parts =
      keySeparator === undefined
        ? [value]
        : [dataOutputBytes(record.key) ?? Buffer.alloc(0), Buffer.from(keySeparator, 'utf8'), value];
    return Buffer.concat([...parts, NEWLINE]);
  };
}

const NEWLINE = Buffer.from('\n');

/** Rows as left-aligned columns under a header, for people (scripts use `--json`). */
export function renderTable(
  headers: readonly string[],
  rows: readonly (readonly (string | number | null)[])[],
): string {
  const cells = [headers, ...rows.map((row) => row.map((cell) => (cell === null ? '-' : String(cell))))];
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  return cells
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
    .concat('\n');
}
