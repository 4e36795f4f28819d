// KafkaJS's admin usage: connect, create topics (partitions and a config entry), list them,
// describe their partitions, disconnect. Only the import and the brokers differ.
import { Kafka } from 'shoal/kafkajs';

const kafka = new Kafka({ clientId: 'admin-app', brokers: [process.env.SHOAL_URL] });
const admin = kafka.admin();

await admin.connect();
const created = await admin.createTopics({
  waitForLeaders: true,
  topics: [
    { topic: 'payments', numPartitions: 3, replicationFactor: 3 },
    { topic: 'audit', numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '86400000' }] },
  ],
});
const again = await admin.createTopics({ topics: [{ topic: 'payments', numPartitions: 3 }] });
const topics = await admin.listTopics();
const metadata = await admin.fetchTopicMetadata({ topics: ['payments'] });
await admin.disconnect();
console.log(
  JSON.stringify({
    created,
    again,
    topics: topics.filter((name) => name === 'payments' || name === 'audit').sort(),
    partitions: metadata.topics[0].partitions.map((p) => p.partitionId),
  }),
);
