import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEmbeddedLog } from '../src/embedded/index.js';
import { describeTailContract } from './tail-contract.js';

describeTailContract('embedded', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tail-'));
  const log = await createEmbeddedLog({ dir });
  return {
    log,
    cleanup: async () => {
      await log.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
