/**
 * An exclusive lock on the log's folder: a `LOCK` file holding the owner's pid. Two writers would
 * corrupt the log, so a second opener is refused with a clear error; a lock left by a process that
 * no longer runs (a crash) is taken over.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync, fsyncSync } from 'node:fs';
import { join } from 'node:path';

export interface DirLock {
  readonly path: string;
  release(): void;
}

/** The folder is locked by a running process (`owner`, its pid), possibly this one. */
export class DirLockedError extends Error {
  override readonly name = 'DirLockedError';
  constructor(
    message: string,
    readonly dir: string,
    readonly owner: number,
  ) {
    super(message);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock of `dir` for this process, or throws saying who holds it. */
export function acquireDirLock(dir: string): DirLock {
  const path = join(dir, 'LOCK');
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let owner = Number.NaN;
      try {
        owner = Number.parseInt(readFileSync(path, 'utf8'), 10);
      } catch (readError) {
        if ((readError as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw readError;
      }
      if (owner === process.pid) {
        throw new DirLockedError(`embedded log: ${dir} is already open in this process (pid ${owner}); close that log before opening it again`, dir, owner);
      }
      if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
        throw new DirLockedError(`embedded log: ${dir} is locked by the running process ${owner} (${path}); only one process may open an embedded log`, dir, owner);
      }
      // A stale lock (its process is gone, or the file is empty after a crash): take it over.
      try {
        unlinkSync(path);
      } catch (unlinkError) {
        if ((unlinkError as NodeJS.ErrnoException).code !== 'ENOENT') throw unlinkError;
      }
      continue;
    }
    try {
      writeSync(fd, `${process.pid}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    let released = false;
    return {
      path,
      release() {
        if (released) return;
        released = true;
        try {
          unlinkSync(path);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
      },
    };
  }
  throw new Error(`embedded log: could not take the lock ${path}: another process keeps taking it`);
}
