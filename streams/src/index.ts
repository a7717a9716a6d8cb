export * from './log.js';
export * from './errors.js';
export * from './topics.js';
