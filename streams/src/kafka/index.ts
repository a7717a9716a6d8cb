export { createKafkaLog } from './log.js';
export { createKafkaProducer } from './producer.js';
export { createKafkaConsumer } from './consumer.js';
export { createKafkaAdmin, type KafkaLogAdmin } from './admin.js';
export { KAFKA_COMPRESSIONS, resolveKafkaLogOptions, type KafkaCompression, type KafkaLogOptions, type KafkaLogLogger, type ResolvedKafkaLogOptions } from './options.js';
export { isKafkaUnavailable, toLogError } from './errors.js';
