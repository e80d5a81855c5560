/**
 * The protocol contract a client sees first: ApiVersions advertises exactly the ranges the
 * broker implements (and the issue fixes), responses come back in request order, and
 * produce with acks=0 gets no response at all.
 */
import { expect } from 'chai';
import { ApiVersions } from '../../broker/src/protocol/messages/18_api_versions.js';
import { CreateTopics } from '../../broker/src/protocol/messages/19_create_topics.js';
import { ListOffsets } from '../../broker/src/protocol/messages/02_list_offsets.js';
import { Metadata } from '../../broker/src/protocol/messages/03_metadata.js';
import { Produce } from '../../broker/src/protocol/messages/00_produce.js';
import { startBroker, type Broker } from '../helpers/broker.js';
import { buildBatch } from '../helpers/record-batch-builder.js';
import { WireClient, decodeResponse } from '../helpers/wire-client.js';

const EXPECTED: Record<number, [number, number]> = {
  0: [3, 11], // Produce
  1: [4, 16], // Fetch
  2: [0, 8], // ListOffsets
  3: [0, 12], // Metadata
  8: [0, 9], // OffsetCommit
  9: [0, 9], // OffsetFetch
  10: [0, 5], // FindCoordinator
  11: [0, 9], // JoinGroup
  12: [0, 4], // Heartbeat
  13: [0, 5], // LeaveGroup
  14: [0, 5], // SyncGroup
  15: [0, 5], // DescribeGroups
  16: [0, 4], // ListGroups
  18: [0, 4], // ApiVersions
  19: [0, 7], // CreateTopics
  20: [0, 6], // DeleteTopics
  21: [0, 2], // DeleteRecords
  22: [0, 4], // InitProducerId
  23: [0, 4], // OffsetForLeaderEpoch
  32: [0, 4], // DescribeConfigs
  33: [0, 2], // AlterConfigs
  35: [0, 4], // DescribeLogDirs (no log dirs: what kafka-reassign-partitions.sh asks first)
  37: [0, 3], // CreatePartitions
  42: [0, 2], // DeleteGroups
  43: [0, 2], // ElectLeaders
  44: [0, 1], // IncrementalAlterConfigs
  45: [0, 0], // AlterPartitionReassignments (v1 is Kafka 4.1+, beyond the 4.0 schemas)
  46: [0, 0], // ListPartitionReassignments
  60: [0, 1], // DescribeCluster
  75: [0, 0], // DescribeTopicPartitions (beyond the list: what Kafka 3.8+ tools use)
};

describe('protocol contract (real broker process)', function () {
  this.timeout(60_000);
  let broker: Broker;
  let c: WireClient;

  before(async () => {
    broker = await startBroker();
    c = await WireClient.connect(broker.port);
  });
  after(async () => {
    c?.close();
    await broker?.stop();
  });

  it('ApiVersions advertises exactly the implemented ranges, at every version', async () => {
    for (let v = 0; v <= 4; v++) {
      const r = await c.request(ApiVersions, v, { clientSoftwareName: 'contract-test', clientSoftwareVersion: '1.0' });
      expect(r.errorCode).to.equal(0);
      const got = Object.fromEntries(r.apiKeys.map((k) => [k.apiKey, [k.minVersion, k.maxVersion]]));
      expect(got, `ApiVersions v${v}`).to.deep.equal(EXPECTED);
    }
  });

  it('answers pipelined requests in request order, and nothing for produce with acks=0', async () => {
    const created = await c.request(CreateTopics, 7, { topics: [{ name: 'ordering', numPartitions: 1, replicationFactor: 1 }], timeoutMs: 10_000 });
    expect(created.topics[0]!.errorCode).to.equal(0);
    // Pipeline: a slow acks=-1 produce (waits for the WAL), an acks=0 produce, then fast requests.
    const frames = [
      c.encodeRequest(Produce, 9, { acks: -1, timeoutMs: 10_000, topicData: [{ name: 'ordering', partitionData: [{ index: 0, records: buildBatch([{ value: Buffer.from('one') }]) }] }] }, 101),
      c.encodeRequest(Produce, 9, { acks: 0, timeoutMs: 10_000, topicData: [{ name: 'ordering', partitionData: [{ index: 0, records: buildBatch([{ value: Buffer.from('two') }]) }] }] }, 102),
      c.encodeRequest(Metadata, 12, { topics: null }, 103),
      c.encodeRequest(ApiVersions, 3, { clientSoftwareName: 'x', clientSoftwareVersion: '1' }, 104),
      c.encodeRequest(ListOffsets, 7, { replicaId: -1, topics: [{ name: 'ordering', partitions: [{ partitionIndex: 0, timestamp: -1n }] }] }, 105),
    ];
    const responses = [c.nextFrame(), c.nextFrame(), c.nextFrame(), c.nextFrame()];
    c.writeRaw(Buffer.concat(frames));
    const got = await Promise.all(responses);
    expect(got.map((f) => f.readInt32BE(0))).to.deep.equal([101, 103, 104, 105]);
    const latest = decodeResponse(ListOffsets, 7, got[3]!, 105);
    // The acks=0 record was appended (in order) even though it was never answered.
    expect(latest.topics[0]!.partitions[0]!.offset).to.equal(2n);
  });
});
