// The client-test harness must be able to fail: the delivery checker reports each kind of broker
// misbehaviour, and process helpers fail with a clear message instead of hanging.
import { expect } from 'chai';
import { startBroker } from '../../helpers/broker.js';
import { Proc, run } from '../../helpers/proc.js';
import { checkDelivery } from '../../helpers/verify.js';
import type { ConsumedRecord, ProducedRecord } from '../../helpers/verify.js';
import { waitFor } from '../../helpers/wait.js';

function batch(prefix: string, n: number, partitions = 3): { produced: ProducedRecord[]; consumed: ConsumedRecord[] } {
  const produced: ProducedRecord[] = [];
  const consumed: ConsumedRecord[] = [];
  const next = new Array<number>(partitions).fill(0);
  for (let i = 0; i < n; i++) {
    const partition = i % partitions;
    const offset = next[partition]!++;
    produced.push({ value: `${prefix}-${i}`, partition, offset });
    consumed.push({ value: `${prefix}-${i}`, partition, offset, member: partition });
  }
  return { produced, consumed };
}

describe('client harness: delivery checks', () => {
  it('accepts an exact delivery', () => {
    const { produced, consumed } = batch('a', 30);
    expect(checkDelivery({ produced, consumed, partitions: 3, requireEveryPartition: true })).to.deep.equal([]);
  });

  it('reports a record delivered twice', () => {
    const { produced, consumed } = batch('a', 30);
    consumed.push({ ...consumed[4]!, member: 2 });
    expect(checkDelivery({ produced, consumed, partitions: 3 }).join('\n')).to.match(/delivered twice/);
  });

  it('reports a record the broker appended twice', () => {
    const { produced, consumed } = batch('a', 30);
    consumed.push({ value: 'a-3', partition: 0, offset: 10, member: 0 });
    expect(checkDelivery({ produced, consumed, partitions: 3 }).join('\n')).to.match(/stored at more than one offset/);
  });

  it('reports a lost record and the offset gap it leaves', () => {
    const { produced, consumed } = batch('a', 30);
    const lost = consumed.splice(7, 1);
    const problems = checkDelivery({ produced, consumed, partitions: 3 }).join('\n');
    expect(problems).to.include(`never read: "${lost[0]!.value}"`);
    expect(problems).to.match(/offsets not contiguous/);
  });

  it('reports records out of send order within a partition', () => {
    const { produced, consumed } = batch('a', 30);
    const [x, y] = [consumed[0]!, consumed[3]!]; // both partition 0, offsets 0 and 1
    [x.value, y.value] = [y.value, x.value];
    expect(checkDelivery({ produced, consumed, partitions: 3 }).join('\n')).to.match(/out of send order/);
  });

  it('reports a group that resumed anywhere but at its committed offsets', () => {
    const { produced, consumed } = batch('b', 30);
    const committed = new Map([
      [0, 0],
      [1, 0],
      [2, 5],
    ]);
    expect(checkDelivery({ produced, consumed, partitions: 3, startOffsets: committed }).join('\n')).to.match(
      /partition 2: reading resumed at offset 0, but the committed offset was 5/,
    );
  });

  it('reports records from an earlier batch read again after a restart', () => {
    const first = batch('a', 9);
    const second = batch('b', 9);
    const consumed = [...first.consumed, ...second.consumed];
    expect(checkDelivery({ produced: second.produced, consumed, partitions: 3 }).join('\n')).to.match(/not produced in this batch/);
  });

  it('reports a record not where its produce ack said', () => {
    const { produced, consumed } = batch('a', 30);
    produced[5]!.offset = 99;
    expect(checkDelivery({ produced, consumed, partitions: 3 }).join('\n')).to.match(/not where the produce ack said/);
  });
});

describe('client harness: processes', () => {
  it('run() stops a command at its time limit and says so', async () => {
    const r = await run('sleep', ['30'], { timeoutMs: 300 });
    expect(r.timedOut).to.equal(true);
    expect(r.signal).to.equal('SIGTERM');
  });

  it('a missing tool fails with a hint to run .ci/run', async () => {
    let err: Error | undefined;
    try {
      await run('no-such-tool-automq-test', [], { timeoutMs: 5000 });
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).to.match(/not installed.*bash \.ci\/run/);
  });

  it('Proc.waitExit kills a process that outlives its bound and reports its output', async () => {
    const p = await Proc.start('bash', ['-c', 'echo started; sleep 30']);
    let err: Error | undefined;
    try {
      await p.waitExit(500);
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).to.match(/did not exit within 500 ms/);
    expect(err?.message).to.include('started');
    expect(p.running).to.equal(false);
  });

  it('waitFor fails after its bound with the message', async () => {
    let err: Error | undefined;
    try {
      await waitFor(() => false, 100, 'something that never happens');
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).to.equal('timed out after 100 ms waiting for something that never happens');
  });

  it('startBroker fails at once with the broker output when the broker exits early', async function () {
    this.timeout(60_000);
    let err: Error | undefined;
    try {
      await startBroker({ extraArgs: ['--no-such-flag-automq-test'], readyTimeoutMs: 30_000 });
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).to.match(/broker exited before logging "broker ready"/);
    expect(err?.message).to.include('no-such-flag-automq-test');
  });
});
