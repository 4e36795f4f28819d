// KafkaJS's consumer-group usage with eachBatch: produce keyed messages, then two members of one
// group read them batch by batch, resolving each offset and heartbeating, until every message was
// seen (at least once: a member that reads on in a generation that a join just ended may see a
// message the new owner of its partition reads again). Only the import and the brokers differ. Prints one JSON line.
import { Kafka } from 'shoal/kafkajs';

const kafka = new Kafka({ clientId: 'batch-app', brokers: [process.env.SHOAL_URL] });
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({ topics: [{ topic: 'clicks', numPartitions: 4 }] });
await admin.disconnect();

const producer = kafka.producer();
await producer.connect();
const messages = Array.from({ length: 40 }, (_, i) => ({
  key: `user-${i % 7}`,
  value: JSON.stringify({ click: i }),
  headers: { source: 'web' },
}));
await producer.send({ topic: 'clicks', messages });
await producer.disconnect();

const seen = [];
let done;
const allSeen = new Promise((resolve) => {
  done = resolve;
});
const members = [kafka.consumer({ groupId: 'click-counter' }), kafka.consumer({ groupId: 'click-counter' })];
for (const consumer of members) {
  await consumer.connect();
  await consumer.subscribe({ topics: ['clicks'], fromBeginning: true });
  await consumer.run({
    eachBatchAutoResolve: true,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      for (const message of batch.messages) {
        if (!isRunning() || isStale()) break;
        seen.push({
          partition: batch.partition,
          offset: message.offset,
          key: message.key.toString(),
          value: JSON.parse(message.value.toString()).click,
          source: message.headers.source.toString(),
        });
        resolveOffset(message.offset);
        await heartbeat();
      }
      if (new Set(seen.map((s) => s.value)).size === messages.length) done();
    },
  });
}
await allSeen;
for (const consumer of members) await consumer.disconnect();
const byKey = {};
for (const { key, partition } of seen) {
  byKey[key] ??= new Set();
  byKey[key].add(partition);
}
console.log(
  JSON.stringify({
    count: seen.length,
    distinct: new Set(seen.map((s) => s.value)).size,
    onePartitionPerKey: Object.values(byKey).every((partitions) => partitions.size === 1),
    sources: [...new Set(seen.map((s) => s.source))],
  }),
);
