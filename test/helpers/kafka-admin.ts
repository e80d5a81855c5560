// Broker-side views used by every client test (through kafkajs' admin client): topic creation,
// log end offsets, committed group offsets, and whether a group of N members has settled.
import kafkajs from 'kafkajs';
import type { Admin, Kafka as KafkaType, logCreator as logCreatorType } from 'kafkajs';
import { waitForNoThrow } from './wait.js';

const { Kafka, logLevel, AssignerProtocol } = kafkajs;

// Retriable group errors that kafkajs logs at ERROR level during every normal rebalance.
const benign = /group is rebalancing|coordinator is loading|coordinator is not available/i;

/** kafkajs errors go to stderr as one JSON line each, except the noise of normal rebalances. */
const logCreator: logCreatorType = () => ({ namespace, label, log }) => {
  const { message, error } = log as { message?: string; error?: string };
  if (benign.test(String(error ?? '')) || benign.test(String(message ?? ''))) return;
  process.stderr.write(`kafkajs ${label} [${namespace}] ${JSON.stringify(log)}\n`);
};

export function kafkaFor(bootstrap: string, clientId = 'automq-test'): KafkaType {
  return new Kafka({
    clientId,
    brokers: [bootstrap],
    logLevel: logLevel.ERROR,
    logCreator,
    connectionTimeout: 5000,
    requestTimeout: 30000,
    retry: { retries: 5, initialRetryTime: 200 },
  });
}

export async function withAdmin<T>(bootstrap: string, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafkaFor(bootstrap, 'automq-test-admin').admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

export async function createTopic(bootstrap: string, topic: string, partitions: number): Promise<void> {
  const created = await withAdmin(bootstrap, (a) =>
    a.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true }),
  );
  if (!created) throw new Error(`CreateTopics said topic ${topic} already existed`);
}

/** Log end offset (high watermark) per partition. */
export async function endOffsets(bootstrap: string, topic: string): Promise<Map<number, number>> {
  const res = await withAdmin(bootstrap, (a) => a.fetchTopicOffsets(topic));
  return new Map(res.map((p) => [p.partition, Number(p.high)]));
}

/** Committed offset per partition (-1: none), read with OffsetFetch. */
export async function committedOffsets(bootstrap: string, group: string, topic: string): Promise<Map<number, number>> {
  const res = await withAdmin(bootstrap, (a) => a.fetchOffsets({ groupId: group, topics: [topic] }));
  const t = res.find((x) => x.topic === topic);
  return new Map((t?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
}

export interface GroupView {
  state: string;
  protocol: string;
  members: { clientId: string; partitions: number[] }[];
}

export async function describeGroup(bootstrap: string, group: string, topic: string): Promise<GroupView> {
  const d = await withAdmin(bootstrap, (a) => a.describeGroups([group]));
  const g = d.groups.find((x) => x.groupId === group);
  if (!g) throw new Error(`DescribeGroups returned no entry for ${group}`);
  return {
    state: g.state,
    protocol: g.protocol,
    members: g.members.map((m) => {
      const decoded = m.memberAssignment.length > 0 ? AssignerProtocol.MemberAssignment.decode(m.memberAssignment) : null;
      return { clientId: m.clientId, partitions: [...(decoded?.assignment[topic] ?? [])].sort((x, y) => x - y) };
    }),
  };
}

/**
 * Waits until the broker reports the group Stable with `members` members that share all
 * `partitions` partitions of the topic, each partition owned by exactly one member and every member
 * owning at least one.
 */
export async function waitForStableGroup(
  bootstrap: string,
  group: string,
  topic: string,
  members: number,
  partitions: number,
  timeoutMs = 60_000,
): Promise<GroupView> {
  const settled = (g: GroupView): boolean => {
    if (g.state !== 'Stable' || g.members.length !== members) return false;
    const owned = g.members.flatMap((m) => m.partitions).sort((x, y) => x - y);
    return (
      g.members.every((m) => m.partitions.length > 0) &&
      owned.length === partitions &&
      owned.every((p, i) => p === i)
    );
  };
  return waitForNoThrow(
    () => describeGroup(bootstrap, group, topic),
    settled,
    timeoutMs,
    (last) => `group ${group} to be Stable with ${members} members sharing ${partitions} partitions; last DescribeGroups: ${JSON.stringify(last)}`,
    250,
  );
}
