import { randomUUID } from 'node:crypto';
import { createKafkaLog } from '../src/kafka/index.js';
import { describeTailContract } from './tail-contract.js';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');

describeTailContract('kafka', async () => {
  const log = await createKafkaLog({ brokers, clientId: `tail-${randomUUID().slice(0, 8)}` });
  return { log, cleanup: () => log.close() };
});
