/**
 * Checks of what an application passes to the client, so a missing or wrong field is a TypeError
 * that names it, thrown where the call was made, instead of a failure deep inside (or a 400 from
 * the server after a round trip).
 */

/** A value as an error message shows it. */
export function shown(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (typeof value === 'string') return `'${value.length > 60 ? `${value.slice(0, 60)}...` : value}'`;
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return `${typeof value} ${String(value)}`;
}

/** `producer.send`'s argument: `{ topic, records }`. */
export function checkSend(input: unknown): void {
  if (typeof input !== 'object' || input === null) {
    throw new TypeError(`send takes { topic, records }, got ${shown(input)}`);
  }
  const { topic, records, messages } = input as Record<string, unknown>;
  if (typeof topic !== 'string' || topic === '') {
    throw new TypeError(
      `send: topic must be a topic name, got ${topic === undefined ? 'nothing' : shown(topic)}`,
    );
  }
  if (!Array.isArray(records)) {
    const hint =
      messages === undefined
        ? ''
        : " (`messages` is KafkaJS's name: give records, or import { Kafka } from 'shoal/kafkajs')";
    throw new TypeError(
      `send: records must be an array of records, got ${records === undefined ? 'nothing' : shown(records)}${hint}`,
    );
  }
  records.forEach((record, index) => {
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      throw new TypeError(
        `send: records[${index}] must be an object with a key and/or a value, got ${shown(record)}`,
      );
    }
  });
}

/** `consumer.subscribe`'s topics. */
export function checkTopics(topics: unknown, where: string): void {
  if (!Array.isArray(topics) || !topics.every((topic) => typeof topic === 'string' && topic !== '')) {
    throw new TypeError(`${where} must be an array of topic names, got ${shown(topics)}`);
  }
}
