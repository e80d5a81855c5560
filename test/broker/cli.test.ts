/** The automq command line: one clear line and a non-zero exit for every bad flag or value. */
import { expect } from 'chai';
import { brokerMain, removeDir, run, startBroker, tempDir } from '../helpers/broker.js';

async function automq(args: string[], env: NodeJS.ProcessEnv = {}) {
  return run(process.execPath, [brokerMain, ...args], { timeoutMs: 30_000, env: { PATH: process.env.PATH, ...env } });
}

describe('automq CLI', function () {
  this.timeout(60_000);

  const bad: [string, string[], RegExp][] = [
    ['an unknown flag', ['standalone', '--no-such-flag', 'x'], /unknown flag --no-such-flag/],
    ['a flag without value', ['standalone', '--listen'], /--listen needs a value/],
    ['a bad HOST:PORT', ['standalone', '--listen', 'localhost'], /invalid --listen \(or AUTOMQ_LISTEN\).*HOST:PORT/],
    ['a port out of range', ['standalone', '--listen', '127.0.0.1:70000'], /invalid --listen/],
    ['a bad metrics port', ['standalone', '--metrics-port', 'abc'], /invalid --metrics-port .*integer/],
    ['a bad object store URL', ['standalone', '--object-store', 'http://x'], /invalid --object-store/],
    ['a bad log level', ['standalone', '--log-level', 'loud'], /invalid --log-level/],
    ['an unknown command', ['frobnicate'], /unknown command "frobnicate"/],
    ['a wildcard listener without --advertise', ['standalone', '--listen', '0.0.0.0:9092'], /binds every interface: set --advertise/],
    ['a wildcard --advertise', ['standalone', '--listen', '0.0.0.0:9092', '--advertise', '0.0.0.0:9092'], /invalid --advertise/],
  ];
  for (const [what, args, message] of bad) {
    it(`rejects ${what} with one line and exit status 2`, async () => {
      const r = await automq(args);
      expect(r.code, r.stderr).to.equal(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines, r.stderr).to.have.length(1);
      expect(lines[0]).to.match(/^automq: /);
      expect(lines[0]).to.match(message);
    });
  }

  it('validates flags given as AUTOMQ_* environment variables too', async () => {
    const r = await automq(['standalone'], { AUTOMQ_LISTEN: 'nonsense' });
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/invalid --listen \(or AUTOMQ_LISTEN\)/);
  });

  it('refuses an unknown broker config key in --config', async () => {
    const dir = await tempDir('automq-cli-');
    try {
      const { writeFile } = await import('node:fs/promises');
      await writeFile(`${dir}/server.properties`, 'num.partitions=3\nno.such.key=1\n');
      const r = await automq(['standalone', '--data-dir', dir, '--listen', '127.0.0.1:0', '--metrics-port', '0', '--config', `${dir}/server.properties`]);
      expect(r.code).to.not.equal(0);
      expect(r.stderr.trim().split('\n')).to.have.length(1);
      expect(r.stderr).to.match(/unknown broker config "no.such.key"/);
    } finally {
      await removeDir(dir);
    }
  });

  it('prints usage for --help and exits 0', async () => {
    const r = await automq(['--help']);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(/usage: automq <command>/);
    expect(r.stdout).to.match(/--object-store URL/);
  });

  it('logs one JSON object per line, including the ready line with its addresses', async () => {
    const broker = await startBroker();
    try {
      const lines = broker.logs().filter((l) => !l.startsWith('stderr: '));
      expect(lines.length).to.be.greaterThan(0);
      for (const l of lines) expect(() => JSON.parse(l), l).to.not.throw();
      const ready = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e['msg'] === 'broker ready');
      expect(ready).to.include({ level: 'info', listen: `127.0.0.1:${broker.port}` });
      expect(ready?.['metrics']).to.equal(`http://127.0.0.1:${broker.metricsPort}/metrics`);
    } finally {
      await broker.stop();
    }
  });
});
