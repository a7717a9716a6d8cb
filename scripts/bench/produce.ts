/**
 * Produce throughput on the same broker, same topic settings (6 partitions), same records (1 KiB,
 * acks=all, idempotent): Kafka's own `ProducerPerformance` (from the same jars as the broker)
 * against our Kafka log producer (@platformatic/kafka underneath), sending batches of 100 and 64
 * concurrent single-record sends (what the gateway does under load).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createKafkaLog } from '../../streams/src/kafka/index.js';
import { runToEnd } from './spawn.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ProduceFigure {
  producer: string;
  scenario: string;
  records: number;
  records_per_s: number;
  mb_per_s: number;
}

export async function benchProduce(records: number, log: (line: string) => void): Promise<ProduceFigure[]> {
  const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
  const kafka = await createKafkaLog({ brokers, clientId: 'metronis-bench' });
  const figures: ProduceFigure[] = [];
  try {
    const topic = (name: string) => `bench-produce-${name}-${randomUUID().slice(0, 8)}`;

    log('produce: kafka ProducerPerformance');
    const perfTopic = topic('perf');
    await kafka.admin.createTopics([{ name: perfTopic, partitions: 6 }]);
    const out = await runToEnd('bash', [
      `${ROOT}scripts/kafka-tool.sh`, 'org.apache.kafka.tools.ProducerPerformance', '--topic', perfTopic, '--num-records', String(records),
      '--record-size', '1024', '--throughput', '-1', '--producer-props', `bootstrap.servers=${brokers.join(',')}`, 'acks=all', 'enable.idempotence=true',
    ]);
    const summary = out.trim().split('\n').pop() ?? '';
    const match = /([\d.]+) records\/sec \(([\d.]+) MB\/sec\)/.exec(summary);
    if (match === null) throw new Error(`cannot read ProducerPerformance output: ${summary}`);
    figures.push({ producer: 'kafka ProducerPerformance (Java)', scenario: 'client-side batching', records, records_per_s: Math.round(Number(match[1])), mb_per_s: Number(match[2]) });

    const value = randomBytes(1024);
    for (const scenario of ['batches of 100, one at a time', '64 concurrent single-record sends'] as const) {
      log(`produce: metronis Kafka log producer, ${scenario}`);
      const name = topic(scenario.startsWith('batches') ? 'batch' : 'concurrent');
      await kafka.admin.createTopics([{ name, partitions: 6 }]);
      const producer = kafka.producer();
      await producer.send([{ topic: name, key: 'warmup', value }]);
      const started = performance.now();
      if (scenario.startsWith('batches')) {
        for (let sent = 0; sent < records; sent += 100) {
          await producer.send(Array.from({ length: Math.min(100, records - sent) }, () => ({ topic: name, key: randomUUID(), value })));
        }
      } else {
        let next = 0;
        await Promise.all(
          Array.from({ length: 64 }, async () => {
            while (next++ < records) await producer.send([{ topic: name, key: randomUUID(), value }]);
          }),
        );
      }
      const seconds = (performance.now() - started) / 1000;
      await producer.close();
      const landed = (await kafka.admin.endOffsets(name)).reduce((sum, p) => sum + Number(p.offset), 0) - 1;
      if (landed !== records) throw new Error(`${scenario}: ${landed} of ${records} records landed`);
      figures.push({ producer: 'metronis Kafka log producer (@platformatic/kafka)', scenario, records, records_per_s: Math.round(records / seconds), mb_per_s: Math.round(((records * 1024) / seconds / 1e6) * 100) / 100 });
    }
  } finally {
    await kafka.close();
  }
  return figures;
}
