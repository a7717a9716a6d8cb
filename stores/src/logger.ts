/** The part of a pino logger the stores use; pass a pino logger or a child of one. */
export interface StoreLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** A logger that drops everything: the default when none is given. */
export const silentLogger: StoreLogger = { debug() {}, info() {}, warn() {}, error() {} };
