/**
 * The log on Apache Kafka: the `Log` interface of `streams/src/log.ts` over @platformatic/kafka.
 * Creating it does no I/O (a process can start while Kafka is down and answer 503 until it is back);
 * `admin.ping()` checks the broker. `close()` closes every producer and consumer it handed out.
 *
 * @example
 *   const log = await createKafkaLog({ brokers: ['127.0.0.1:19092'], clientId: 'metronis-gateway', logger });
 *   await log.admin.createTopics([{ name: 'metronis.traces.v1', partitions: 6 }]);
 *   const producer = log.producer();
 */
import type { ConsumerOptions, Log, LogConsumer, LogProducer } from '../log.js';
import { createKafkaAdmin } from './admin.js';
import { createKafkaConsumer } from './consumer.js';
import { type KafkaLogOptions, resolveKafkaLogOptions } from './options.js';
import { createKafkaProducer } from './producer.js';

export async function createKafkaLog(options: KafkaLogOptions): Promise<Log> {
  const resolved = resolveKafkaLogOptions(options);
  const admin = createKafkaAdmin(resolved);
  const open = new Set<LogProducer | LogConsumer>();
  let producers = 0;
  let closed = false;

  function track<T extends LogProducer | LogConsumer>(client: T): T {
    open.add(client);
    const close = client.close.bind(client);
    client.close = async () => {
      open.delete(client);
      await close();
    };
    return client;
  }

  return {
    kind: 'kafka',
    admin,
    producer(): LogProducer {
      if (closed) throw new Error('Kafka log is closed');
      producers += 1;
      return track(createKafkaProducer(resolved, producers === 1 ? 'producer' : `producer-${producers}`));
    },
    consumer(consumerOptions: ConsumerOptions): LogConsumer {
      if (closed) throw new Error('Kafka log is closed');
      return track(createKafkaConsumer(resolved, consumerOptions));
    },
    async close(): Promise<void> {
      closed = true;
      await Promise.allSettled([...open].map((client) => client.close()));
      await admin.close();
    },
  };
}
