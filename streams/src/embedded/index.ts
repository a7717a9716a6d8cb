export { createEmbeddedLog, type EmbeddedLogOptions, type EmbeddedLogLogger } from './log.js';
export { acquireDirLock, DirLockedError, type DirLock } from './lock.js';
