/**
 * `npm run eval:tier3` end to end against the scripted local server (the only judge reachable here):
 * the real SDK client, the harm prompt, the fixture, the statistics and the report; and its refusals
 * of bad arguments.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../scripts/eval.ts', import.meta.url));
const eval3 = (args: string[]) => run(process.execPath, ['--conditions=source', '--import', 'tsx', SCRIPT, ...args], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' }, timeout: 120_000 });

it('scores the fixture with the scripted judge and reports judge-vs-human next to human-vs-human agreement', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'metronis-eval3-'));
  try {
    const out = join(dir, 'report.json');
    const { stdout } = await eval3(['--provider', 'scripted', '--limit', '40', '--rounds', '100', '--out', out]);
    expect(stdout).toContain("| Krippendorff's alpha (interval) |");
    expect(stdout).toContain('SCRIPTED JUDGE');
    const report = JSON.parse(await readFile(out, 'utf8'));
    expect(report.data).toMatchObject({ items: 40, judged: 40, failed: 0, three_rater_items: 40 });
    for (const stat of ['mae', 'krippendorff_alpha', 'weighted_kappa']) {
      for (const side of [report.judge_vs_humans[stat], report.human_vs_human[stat]]) {
        expect(side.low).toBeLessThanOrEqual(side.value);
        expect(side.high).toBeGreaterThanOrEqual(side.value);
      }
    }
    // The scripted rule moves a human's score by at most one step (0.25): its error is bounded by that plus the raters' spread.
    expect(report.judge_vs_humans.mae.value).toBeGreaterThan(0);
    expect(report.judge_vs_humans.mae.value).toBeLessThan(0.5);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 120_000);

it('refuses an unknown provider and a missing model, naming them', async () => {
  await expect(eval3(['--provider', 'bard'])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--provider must be one of') });
  await expect(eval3(['--provider', 'openai'])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--model is required') });
}, 120_000);
