/**
 * CreateTopics: v0-7. numPartitions/replicationFactor -1 take broker defaults (v4+ semantics,
 * accepted at every version). Manual replica assignments are refused: partitions have no
 * replicas to place; leadership is decided by the broker. Only the active controller creates
 * topics: other brokers answer NOT_CONTROLLER for every topic (clients retry there).
 */
import { ErrorCode } from '../../protocol/errors.js';
import { CreateTopics } from '../../protocol/messages/19_create_topics.js';
import { describeResource, ResourceType } from '../config/config-resources.js';
import { defineHandler } from '../handler.js';
import { notControllerError } from '../cluster/leadership.js';

export default defineHandler(CreateTopics, { min: 0, max: 7 }, async (req, ctx, broker) => {
  const notController = notControllerError(broker.cluster);
  if (notController) {
    const errorMessage = ctx.apiVersion >= 1 ? notController.errorMessage : null;
    return { throttleTimeMs: 0, topics: req.topics.map((t) => ({ name: t.name, errorCode: notController.errorCode, errorMessage })) };
  }
  const topics = [];
  const seen = new Map<string, number>();
  for (const t of req.topics) seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
  for (const t of req.topics) {
    const base = { name: t.name, errorMessage: null as string | null };
    if ((seen.get(t.name) ?? 0) > 1) {
      topics.push({ ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `topic "${t.name}" appears more than once in the request` });
      continue;
    }
    if (t.assignments.length > 0) {
      topics.push({ ...base, errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: 'manual replica assignment is not supported: the broker places partitions' });
      continue;
    }
    const configs: Record<string, string> = {};
    for (const c of t.configs) if (c.value !== null) configs[c.name] = c.value;
    const result = req.validateOnly
      ? (broker.topicAdmin.checkCreate(t.name, t.numPartitions, t.replicationFactor, configs) ?? { errorCode: 0, errorMessage: null })
      : await broker.topicAdmin.create(t.name, t.numPartitions, t.replicationFactor, configs);
    if (result.errorCode !== 0) {
      topics.push({ ...base, errorCode: result.errorCode, errorMessage: ctx.apiVersion >= 1 ? result.errorMessage : null });
      continue;
    }
    const created = 'topic' in result ? result.topic : undefined;
    const described = created ? describeResource(broker, ResourceType.TOPIC, t.name, null, false, false) : undefined;
    topics.push({
      ...base,
      errorCode: 0,
      topicId: created?.id,
      numPartitions: created?.partitions.length ?? (t.numPartitions === -1 ? broker.config.int('num.partitions') : t.numPartitions),
      replicationFactor: 1,
      configs: described?.configs.map((c) => ({
        name: c.name,
        value: c.value,
        readOnly: c.readOnly,
        configSource: c.configSource,
        isSensitive: c.isSensitive,
      })) ?? [],
    });
  }
  return { throttleTimeMs: 0, topics };
});
