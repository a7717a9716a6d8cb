import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEmbeddedLog } from '../src/embedded/index.js';
import { describeLogContract } from './log-contract.js';

describeLogContract('embedded', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'metronis-embedded-log-'));
  const log = await createEmbeddedLog({ dir });
  return {
    log,
    async cleanup() {
      await log.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
