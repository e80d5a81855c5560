/**
 * FindCoordinator: v0-5 (batched coordinatorKeys from v4). A group's coordinator is the leader of
 * its group shard (GROUP_SHARDS_TOPIC partition shardOf(group)), as in Kafka; while the shard has
 * no leader, or its leader is not a live broker, COORDINATOR_NOT_AVAILABLE (clients retry).
 * Transaction coordinators do not exist yet.
 */
import { ErrorCode } from '../../protocol/errors.js';
import { FindCoordinator } from '../../protocol/messages/10_find_coordinator.js';
import { GROUP_SHARDS_TOPIC } from '../cluster/cluster-view.js';
import { defineHandler } from '../handler.js';
import type { BrokerContext } from '../context.js';

const GROUP = 0;
const TRANSACTION = 1;

function lookup(key: string, keyType: number, broker: BrokerContext) {
  const none = { nodeId: -1, host: '', port: -1 };
  if (keyType === GROUP) {
    const shard = broker.groups.shardOf(key);
    const leader = broker.cluster.leadership(GROUP_SHARDS_TOPIC, shard)?.leader ?? -1;
    const n = leader >= 0 ? broker.cluster.broker(leader) : undefined;
    if (!n) {
      return {
        ...none,
        errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
        errorMessage: `group shard ${shard} of ${key} has no live leader right now (a move or failover in progress); retry`,
      };
    }
    return { nodeId: n.nodeId, host: n.host, port: n.port, errorCode: ErrorCode.NONE, errorMessage: null };
  }
  if (keyType === TRANSACTION) {
    return { ...none, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: `no transaction coordinator for ${key}: transactions are not supported yet` };
  }
  return { ...none, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `unknown coordinator key type ${keyType}` };
}

export default defineHandler(FindCoordinator, { min: 0, max: 5 }, (req, ctx, broker) => {
  if (ctx.apiVersion >= 4) {
    return { throttleTimeMs: 0, coordinators: req.coordinatorKeys.map((key) => ({ key, ...lookup(key, req.keyType, broker) })) };
  }
  return { throttleTimeMs: 0, ...lookup(req.key, req.keyType, broker) };
});
