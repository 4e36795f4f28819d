/**
 * Realistic, varied JSON events for tests and benchmarks: orders, clicks and sensor readings with
 * random ids, numbers and nested objects. Compression measured on repeated strings flatters every
 * codec; these events repeat only what real events repeat (field names, enum values, shapes).
 *
 * Everything is deterministic given the `random` function, so a seeded run is reproducible.
 */

import type { RecordInput } from '../../shared/domain/record.js';

/** `small` events are about 100 bytes of JSON, `typical` ones about 1 KB. */
export type EventSizeClass = 'small' | 'typical';

/**
 * A seeded uniform random function in [0, 1) (mulberry32): the same seed gives the same sequence.
 *
 * @example const random = seededRandom(42); makeEvent(random, 'typical');
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** One random event (order, click or sensor reading) as a JSON-serialisable object. */
export function makeEvent(random: () => number, sizeClass: EventSizeClass): Record<string, unknown> {
  const kind = pick(random, ['order', 'click', 'sensor'] as const);
  if (kind === 'order') return sizeClass === 'small' ? smallOrder(random) : typicalOrder(random);
  if (kind === 'click') return sizeClass === 'small' ? smallClick(random) : typicalClick(random);
  return sizeClass === 'small' ? smallSensor(random) : typicalSensor(random);
}

/**
 * One random event as a record: a STRING key (the entity id, or null for a quarter of the records),
 * the JSON event as value, and a trace header on typical events.
 */
export function makeEventRecord(
  random: () => number,
  sizeClass: EventSizeClass,
  timestampMs: number,
): RecordInput {
  const event = makeEvent(random, sizeClass);
  const id = String(event.orderId ?? event.sessionId ?? event.deviceId);
  return {
    key: random() < 0.25 ? null : { type: 'STRING', bytes: encoder.encode(id) },
    value: { type: 'JSON', bytes: encoder.encode(JSON.stringify(event)) },
    headers:
      sizeClass === 'typical' ? [{ name: 'traceparent', value: encoder.encode(traceparent(random)) }] : [],
    timestamp: timestampMs,
  };
}

/** `count` event records with timestamps a few milliseconds apart from `startMs`. */
export function makeEventRecords(
  random: () => number,
  sizeClass: EventSizeClass,
  count: number,
  startMs = 1_767_225_600_000,
): RecordInput[] {
  const records: RecordInput[] = [];
  let timestampMs = startMs;
  for (let i = 0; i < count; i++) {
    records.push(makeEventRecord(random, sizeClass, timestampMs));
    timestampMs += int(random, 0, 20);
  }
  return records;
}

function smallOrder(random: () => number): Record<string, unknown> {
  return {
    type: 'order.created',
    orderId: `ord_${hex(random, 12)}`,
    total: money(random, 5, 900),
    customerId: `cus_${hex(random, 8)}`,
    currency: pick(random, CURRENCIES),
    items: int(random, 1, 9),
  };
}

function typicalOrder(random: () => number): Record<string, unknown> {
  const items = Array.from({ length: int(random, 2, 6) }, () => ({
    sku: `${pick(random, ['SKU', 'ART', 'PRD'])}-${int(random, 10_000, 99_999)}`,
    name: `${pick(random, ADJECTIVES)} ${pick(random, PRODUCTS)}`,
    category: pick(random, ['electronics', 'grocery', 'outdoor', 'home', 'apparel']),
    quantity: int(random, 1, 5),
    unitPrice: money(random, 2, 300),
    discount: random() < 0.7 ? 0 : money(random, 1, 20),
  }));
  return {
    type: pick(random, ['order.created', 'order.paid', 'order.shipped', 'order.cancelled']),
    orderId: `ord_${hex(random, 16)}`,
    customer: {
      id: `cus_${hex(random, 12)}`,
      email: `${pick(random, FIRST_NAMES).toLowerCase()}.${hex(random, 4)}@${pick(random, DOMAINS)}`,
      segment: pick(random, ['new', 'returning', 'vip']),
    },
    items,
    total: money(random, 5, 2_000),
    currency: pick(random, CURRENCIES),
    shipping: {
      method: pick(random, ['standard', 'express', 'pickup']),
      address: {
        street: `${int(random, 1, 250)} ${pick(random, STREETS)}`,
        city: pick(random, CITIES),
        postalCode: String(int(random, 10_000, 99_999)),
        country: pick(random, ['DE', 'FR', 'US', 'GB', 'NL', 'JP']),
      },
    },
    fulfilment: {
      warehouse: `wh-${pick(random, CITIES).toLowerCase()}-${int(random, 1, 9)}`,
      promisedBy: isoTime(random),
    },
    payment: { method: pick(random, ['card', 'paypal', 'invoice']), transactionId: `txn_${hex(random, 20)}` },
    placedAt: isoTime(random),
  };
}

function smallClick(random: () => number): Record<string, unknown> {
  return {
    type: 'click',
    sessionId: hex(random, 16),
    path: `/${pick(random, PATHS)}/${int(random, 1, 5_000)}`,
    at: isoTime(random),
    x: int(random, 0, 1_920),
    y: int(random, 0, 1_080),
  };
}

function typicalClick(random: () => number): Record<string, unknown> {
  return {
    type: pick(random, ['page_view', 'click', 'add_to_cart', 'search']),
    sessionId: hex(random, 24),
    userId: random() < 0.3 ? null : `usr_${hex(random, 10)}`,
    page: {
      url: `https://shop.example.com/${pick(random, PATHS)}/${int(random, 1, 50_000)}?ref=${hex(random, 6)}`,
      referrer:
        random() < 0.4 ? null : `https://${pick(random, REFERRERS)}/search?q=${pick(random, PRODUCTS)}`,
      title: `${pick(random, ADJECTIVES)} ${pick(random, PRODUCTS)} | Example Shop`,
    },
    device: {
      userAgent: pick(random, USER_AGENTS),
      viewport: { width: pick(random, [360, 390, 768, 1280, 1440, 1920]), height: int(random, 600, 1_200) },
      language: pick(random, ['en-US', 'de-DE', 'fr-FR', 'ja-JP', 'nl-NL']),
    },
    target: {
      element: pick(random, ['button', 'a', 'img', 'div']),
      id: `el-${hex(random, 6)}`,
      x: int(random, 0, 1_920),
    },
    cart: { items: int(random, 0, 12), value: money(random, 0, 800), currency: pick(random, CURRENCIES) },
    consent: { analytics: random() < 0.8, marketing: random() < 0.4, version: `v${int(random, 1, 5)}` },
    experiments: Array.from({ length: int(random, 1, 4) }, () => ({
      id: `exp_${int(random, 100, 999)}`,
      variant: pick(random, ['control', 'a', 'b']),
    })),
    geo: { country: pick(random, ['DE', 'FR', 'US', 'GB', 'NL', 'JP']), city: pick(random, CITIES) },
    timings: {
      ttfbMs: int(random, 20, 900),
      domReadyMs: int(random, 200, 4_000),
      loadMs: int(random, 300, 9_000),
    },
    utm:
      random() < 0.5
        ? null
        : {
            source: pick(random, REFERRERS),
            medium: pick(random, ['cpc', 'email', 'social']),
            campaign: `cmp-${int(random, 1, 300)}`,
          },
    occurredAt: isoTime(random),
  };
}

function smallSensor(random: () => number): Record<string, unknown> {
  return {
    deviceId: `dev-${hex(random, 8)}`,
    sampledAt: isoTime(random),
    temperature: round(random() * 45 - 10, 2),
    humidity: round(random() * 100, 1),
    battery: int(random, 0, 100),
  };
}

function typicalSensor(random: () => number): Record<string, unknown> {
  const readings = Array.from({ length: int(random, 9, 16) }, () => ({
    metric: pick(random, ['temperature', 'humidity', 'pressure', 'co2', 'pm25', 'voltage']),
    value: round(random() * 1_000, 3),
    offsetMs: int(random, 0, 60_000),
    quality: pick(random, ['good', 'good', 'good', 'uncertain', 'bad']),
  }));
  return {
    deviceId: `dev-${hex(random, 12)}`,
    site: {
      id: `site-${int(random, 1, 400)}`,
      zone: pick(random, ['north', 'south', 'east', 'west', 'roof']),
    },
    location: {
      lat: round(random() * 180 - 90, 6),
      lon: round(random() * 360 - 180, 6),
      altitudeM: int(random, 0, 3_000),
    },
    firmware: `${int(random, 1, 4)}.${int(random, 0, 20)}.${int(random, 0, 99)}`,
    readings,
    battery: {
      percent: int(random, 0, 100),
      voltage: round(3 + random() * 1.2, 3),
      charging: random() < 0.2,
    },
    sequence: int(random, 0, 10_000_000),
    sampledAt: isoTime(random),
  };
}

function traceparent(random: () => number): string {
  return `00-${hex(random, 32)}-${hex(random, 16)}-01`;
}

function pick<T>(random: () => number, values: readonly T[]): T {
  return values[Math.floor(random() * values.length)] as T;
}

function int(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

function round(n: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(n * scale) / scale;
}

function money(random: () => number, min: number, max: number): number {
  return round(min + random() * (max - min), 2);
}

function hex(random: () => number, length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += HEX_DIGITS[Math.floor(random() * 16)];
  return text;
}

function isoTime(random: () => number): string {
  return new Date(1_767_225_600_000 + Math.floor(random() * 31_536_000_000)).toISOString();
}

const encoder = new TextEncoder();
const HEX_DIGITS = '0123456789abcdef';
const CURRENCIES = ['EUR', 'USD', 'GBP', 'JPY'] as const;
const ADJECTIVES = ['Classic', 'Organic', 'Wireless', 'Compact', 'Vintage', 'Smart', 'Deluxe', 'Recycled'];
const PRODUCTS = [
  'headphones',
  'coffee beans',
  'backpack',
  'desk lamp',
  'running shoes',
  'teapot',
  'keyboard',
];
const FIRST_NAMES = ['Ada', 'Linus', 'Grace', 'Ken', 'Barbara', 'Edsger', 'Margaret', 'Yukihiro'];
const DOMAINS = ['example.com', 'mail.example.org', 'corp.example.net'];
const STREETS = ['Main Street', 'Rue de Rivoli', 'Hauptstraße', 'Keizersgracht', 'Baker Street'];
const CITIES = ['Berlin', 'Paris', 'Seattle', 'London', 'Amsterdam', 'Osaka', 'München'];
const PATHS = ['products', 'category', 'cart', 'checkout', 'search', 'account', 'blog'];
const REFERRERS = ['www.google.com', 'duckduckgo.com', 'www.bing.com', 'news.example.org'];
const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
];
