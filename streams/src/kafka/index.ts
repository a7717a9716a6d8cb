export { createKafkaLog } from './log.js';
export { createKafkaProducer } from './producer.js';
export { createKafkaConsumer } from './consumer.js';
export { createKafkaAdmin, type KafkaLogAdmin } from './admin.js';
export { resolveKafkaLogOptions, type KafkaLogOptions, type KafkaLogLogger, type ResolvedKafkaLogOptions } from './options.js';
export { isKafkaUnavailable, toLogError } from './errors.js';
