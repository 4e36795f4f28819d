/** How numbers, sizes, durations and record data are written on the console's pages. */
import type { TypedData } from './api.js';

const numberFormat = new Intl.NumberFormat('en-US');

/** 1234567 -> "1,234,567". */
export const count = (value: number): string => numberFormat.format(value);

/** Bytes in binary units: 1536 -> "1.5 KiB". */
export function bytes(value: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let scaled = value;
  let unit = 0;
  while (scaled >= 1024 && unit < units.length - 1) {
    scaled /= 1024;
    unit++;
  }
  return `${unit === 0 ? scaled : scaled.toFixed(1)} ${units[unit]}`;
}

/** A retention: -1 is "forever", else the largest whole unit (7 days, 12 h, 90 s). */
export function duration(ms: number): string {
  if (ms < 0) return 'forever';
  const units: [number, string][] = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'min'],
    [1000, 's'],
  ];
  for (const [size, name] of units) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${name}`;
  }
  return `${ms} ms`;
}

/** How a key or value is shown: as the API typed it, as text, or as hex bytes. */
export type Rendering = 'json' | 'text' | 'hex';

function base64Bytes(data: string): Uint8Array {
  const binary = atob(data);
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

/** The bytes of a key or value as stored: JSON and STRING as UTF-8, BINARY decoded from base64. */
export function dataBytes(typed: TypedData): Uint8Array {
  if (typed.type === 'BINARY') return base64Bytes(String(typed.data));
  const text = typed.type === 'JSON' ? JSON.stringify(typed.data) : String(typed.data);
  return new TextEncoder().encode(text);
}

/** The bytes as hex pairs, at most `bytesMax` of them shown. */
export function hex(data: Uint8Array, bytesMax = 256): string {
  const shown = Array.from(data.subarray(0, bytesMax), (byte) => byte.toString(16).padStart(2, '0'));
  return shown.join(' ') + (data.length > bytesMax ? ` ... (${count(data.length)} bytes)` : '');
}

/** A key or value as text in the chosen rendering; "null" when absent. */
export function renderData(typed: TypedData | null, rendering: Rendering): string {
  if (typed === null) return 'null';
  const data = dataBytes(typed);
  if (rendering === 'hex') return hex(data);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(data);
  if (rendering === 'text') return text;
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/** A header value (base64) as text when it is valid UTF-8, else hex. */
export function headerText(value: string): string {
  const data = base64Bytes(value);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    return hex(data);
  }
}

/** Text to base64 (UTF-8), for header values entered in the produce form. */
export function textToBase64(text: string): string {
  const data = new TextEncoder().encode(text);
  return btoa(Array.from(data, (byte) => String.fromCharCode(byte)).join(''));
}
