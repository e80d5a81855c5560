// `automq operator` through the real entry point the image runs (dist/broker/src/cli/main.js).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { parseOperatorArgs } from '../../../operator/src/cli.js';

const run = promisify(execFile);
const MAIN = path.join(process.cwd(), 'dist', 'broker', 'src', 'cli', 'main.js');

describe('automq operator CLI', () => {
  it('--help prints the flags and exits 0 (what `docker run <image> operator --help` shows)', async () => {
    const { stdout } = await run(process.execPath, [MAIN, 'operator', '--help'], { timeout: 20_000 });
    expect(stdout).to.contain('automq operator [flags]');
    expect(stdout).to.contain('--namespace NS');
  });

  it('an unknown flag exits 2 with the usage', async () => {
    try {
      await run(process.execPath, [MAIN, 'operator', '--nope'], { timeout: 20_000 });
      expect.fail('accepted an unknown flag');
    } catch (err) {
      const e = err as { code?: number; stderr?: string };
      expect(e.code).to.equal(2);
      expect(e.stderr).to.contain('unknown flag --nope');
    }
  });

  it('reads flags and AUTOMQ_* env, flags winning', () => {
    const o = parseOperatorArgs(['--workers', '4', '--resync-seconds=30'], { AUTOMQ_WORKERS: '8', AUTOMQ_NAMESPACE: 'kafka', AUTOMQ_TOPIC_DELETION_TIMEOUT_SECONDS: '90' });
    expect(o).to.deep.include({ workers: 4, resyncIntervalMs: 30_000, namespace: 'kafka', topicDeletionTimeoutMs: 90_000 });
  });
});
