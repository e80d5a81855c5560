/**
 * Metadata: v0-12.
 * Behaviour: a null topic list (v1+) or an empty one in v0 means all topics. Unknown topics are
 * created when auto.create.topics.enable is on and the request allows it (v4+; earlier versions
 * always allow; only the active controller creates, other brokers answer UNKNOWN_TOPIC_OR_PARTITION).
 * Brokers, controller and partition leaders come from the ClusterView; replicas and ISR are
 * [leader] because durability comes from the object store, not from replicas; a partition without
 * a live leader is LEADER_NOT_AVAILABLE with leader -1 and empty lists, as Kafka reports it.
 */
import { ErrorCode } from '../../protocol/errors.js';
import { Metadata } from '../../protocol/messages/03_metadata.js';
import { ZERO_UUID } from '../../protocol/schema.js';
import type { BrokerContext } from '../context.js';
import type { TopicRecord } from '../topics/topic-registry.js';
import { topicNameProblem } from '../topics/topic-names.js';
import { defineHandler } from '../handler.js';
import { isActiveController } from '../cluster/cluster-view.js';
import { describedLeadership } from '../cluster/leadership.js';

export default defineHandler(Metadata, { min: 0, max: 12 }, async (req, ctx, broker) => {
  const v = ctx.apiVersion;
  const allTopics = req.topics === null || (v === 0 && req.topics.length === 0);
  const allowAuto = v < 4 || req.allowAutoTopicCreation;
  const topics = [];
  if (allTopics) {
    for (const t of broker.topicAdmin.registry.list()) topics.push(describe(t, broker));
  } else {
    for (const wanted of req.topics ?? []) {
      // By id (v10+): the name is null (v12+) or empty with a non-zero id.
      if (wanted.name === null || (wanted.name === '' && wanted.topicId !== ZERO_UUID)) {
        const t = wanted.topicId !== ZERO_UUID ? broker.topicAdmin.registry.getById(wanted.topicId) : undefined;
        topics.push(t ? describe(t, broker) : { errorCode: ErrorCode.UNKNOWN_TOPIC_ID, name: v >= 12 ? null : '', topicId: wanted.topicId, partitions: [] });
        continue;
      }
      const name = wanted.name;
      if (topicNameProblem(name)) {
        topics.push({ errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, name, partitions: [] });
        continue;
      }
      let t = broker.topicAdmin.registry.get(name);
      if (!t && allowAuto && broker.config.bool('auto.create.topics.enable') && isActiveController(broker.cluster)) {
        const r = await broker.topicAdmin.autoCreate(name);
        if (r.errorCode !== 0) {
          topics.push({ errorCode: r.errorCode, name, partitions: [] });
          continue;
        }
        t = r.topic;
      }
      topics.push(t ? describe(t, broker) : { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name, partitions: [] });
    }
  }
  return {
    throttleTimeMs: 0,
    brokers: broker.cluster.brokers().map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
    clusterId: broker.clusterId,
    controllerId: broker.cluster.controllerId(),
    topics,
  };
});

function describe(t: TopicRecord, broker: BrokerContext) {
  return {
    errorCode: 0,
    name: t.name,
    topicId: t.id,
    isInternal: false,
    partitions: t.partitions.map((p, i) => ({
      partitionIndex: i,
      ...describedLeadership(broker, t.name, i, p.leaderEpoch),
      offlineReplicas: [],
    })),
  };
}
