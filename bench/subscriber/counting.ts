/**
 * The subscribed handler of `bench/subscriptions.ts`: notes when each record arrived. It runs in
 * the bench's process (the local stack imports it), so the notes live on `globalThis`.
 */
import type { SelfManagedKafkaEvent } from 'aws-lambda';

export interface Arrival {
  readonly offset: number;
  /** Epoch ms when the handler was called with the record. */
  readonly at: number;
}

const store = globalThis as typeof globalThis & { shoalBenchArrivals?: Map<string, Arrival[]> };

/** Arrivals per topic, in call order. */
export function arrivals(topic: string): Arrival[] {
  store.shoalBenchArrivals ??= new Map();
  let list = store.shoalBenchArrivals.get(topic);
  if (!list) {
    list = [];
    store.shoalBenchArrivals.set(topic, list);
  }
  return list;
}

export const handler = async (event: SelfManagedKafkaEvent): Promise<void> => {
  const at = Date.now();
  for (const records of Object.values(event.records)) {
    for (const record of records) arrivals(record.topic).push({ offset: record.offset, at });
  }
};
