/**
 * Sizes of a response body as it lies in the proxy result Lambda counts against its payload limit:
 * a JSON string.
 */

/**
 * Bytes of `text` as a JSON string, without the quotes: what a response body takes in the proxy
 * result Lambda serializes (`"` and `\` take 2 bytes, a control character 6, the rest its UTF-8).
 * @example jsonStringBytes('{"a":1}') === 11
 */
export function jsonStringBytes(text: string): number {
  return Buffer.byteLength(JSON.stringify(text), 'utf8') - 2;
}

/**
 * An upper bound of {@link jsonStringBytes} for JSON text, cheap to compute: JSON text holds no
 * control character but its whitespace (RFC 8259), so escaping at most doubles a byte.
 */
export function jsonTextJsonStringBytesMax(jsonText: string): number {
  return 2 * Buffer.byteLength(jsonText, 'utf8');
}
