export { createEmbeddedLog, type EmbeddedLogOptions, type EmbeddedLogLogger } from './log.js';
