/** CreatePartitions: v0-3. Grows a topic; manual assignments are refused (the broker places partitions). Controller only (others: NOT_CONTROLLER). */
import { ErrorCode } from '../../protocol/errors.js';
import { CreatePartitions } from '../../protocol/messages/37_create_partitions.js';
import { defineHandler } from '../handler.js';
import { notControllerError } from '../cluster/leadership.js';

export default defineHandler(CreatePartitions, { min: 0, max: 3 }, async (req, _ctx, broker) => {
  const notController = notControllerError(broker.cluster);
  if (notController) return { throttleTimeMs: 0, results: req.topics.map((t) => ({ name: t.name, ...notController })) };
  const results = [];
  for (const t of req.topics) {
    if (t.assignments !== null && t.assignments.length > 0) {
      results.push({ name: t.name, errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: 'manual replica assignment is not supported' });
      continue;
    }
    const r = req.validateOnly
      ? (broker.topicAdmin.checkAddPartitions(t.name, t.count) ?? { errorCode: 0, errorMessage: null })
      : await broker.topicAdmin.addPartitions(t.name, t.count);
    results.push({ name: t.name, errorCode: r.errorCode, errorMessage: r.errorMessage });
  }
  return { throttleTimeMs: 0, results };
});
