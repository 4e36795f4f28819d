/**
 * Misuse of the client fails at the call, with a TypeError that names the field, before any
 * request (the API here is a port nothing listens on: reaching it would be a connection error).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Shoal } from '../../client/index.js';
import { freePort } from '../cli/run-shoal.js';

let shoal: Shoal;

beforeAll(async () => {
  shoal = new Shoal({ url: `http://127.0.0.1:${await freePort()}`, retry: { retriesMax: 0 } });
});

describe('client misuse', () => {
  it("fails when send gets KafkaJS's messages instead of records, pointing at shoal/kafkajs", async () => {
    // Act
    const error = await shoal
      .producer()
      .send({ topic: 'orders', messages: [{ value: 'x' }] } as never)
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(
      /send: records must be an array of records, got nothing.*shoal\/kafkajs/,
    );
  });

  it('fails when send has no topic, naming it', async () => {
    await expect(shoal.producer().send({ records: [] } as never)).rejects.toThrow(
      /send: topic must be a topic name, got nothing/,
    );
  });

  it('fails when a record value is neither text, bytes nor typed data, naming the record', async () => {
    // Prepare: an explicit partition, so no topic lookup happens first.
    const send = shoal.producer().send({
      topic: 'orders',
      records: [
        { value: 'ok', partition: 0 },
        { value: 42 as never, partition: 0 },
      ],
    });

    // Assess
    await expect(send).rejects.toThrow(/records\[1\]\.value must be a string, bytes, null or typed data/);
  });

  it('fails when a header value is not text or bytes, naming the header', async () => {
    const send = shoal
      .producer()
      .send({ topic: 'orders', records: [{ value: 'x', partition: 0, headers: { trace: 7 as never } }] });
    await expect(send).rejects.toThrow(
      /records\[0\]\.headers\.trace must be a string or bytes, got number 7/,
    );
  });

  it("fails when run gets KafkaJS's eachMessage, pointing at eachRecord", async () => {
    // Prepare
    const consumer = shoal.consumer({ groupId: 'g' });
    await consumer.subscribe({ topics: ['orders'] });

    // Assess
    await expect(consumer.run({ eachMessage: async () => undefined } as never)).rejects.toThrow(
      /exactly one of eachBatch and eachRecord.*eachMessage is KafkaJS's name/,
    );
  });

  it('fails when subscribe gets something other than topic names, naming the field', async () => {
    await expect(shoal.consumer({ groupId: 'g' }).subscribe({ topics: 'orders' as never })).rejects.toThrow(
      /subscribe: topics must be an array of topic names, got 'orders'/,
    );
  });
});
