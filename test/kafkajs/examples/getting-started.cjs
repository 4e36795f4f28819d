// KafkaJS's getting-started usage (produce one message, consume from the beginning in a group),
// as its README shows it, with the import changed to Shoal's and the brokers set to the Shoal URL.
const { Kafka } = require('shoal/kafkajs');

const kafka = new Kafka({
  clientId: 'my-app',
  brokers: [process.env.SHOAL_URL],
});

const producer = kafka.producer();
const consumer = kafka.consumer({ groupId: 'test-group' });

const run = async () => {
  // Producing
  await producer.connect();
  await producer.send({
    topic: 'test-topic',
    messages: [{ value: 'Hello KafkaJS user!' }],
  });

  // Consuming
  await consumer.connect();
  await consumer.subscribe({ topic: 'test-topic', fromBeginning: true });

  await consumer.run({
    // biome-ignore lint/correctness/noUnusedFunctionParameters: the documented example names topic
    eachMessage: async ({ topic, partition, message }) => {
      console.log({
        partition,
        offset: message.offset,
        value: message.value.toString(),
      });
    },
  });
};

run().catch(console.error);
