/**
 * DeleteTopics: v0-6 (by name, or by name or id from v6). Data objects are released and deleted
 * after a grace period. Only the active controller deletes: others answer NOT_CONTROLLER.
 */
import { ErrorCode } from '../../protocol/errors.js';
import { DeleteTopics } from '../../protocol/messages/20_delete_topics.js';
import { ZERO_UUID } from '../../protocol/schema.js';
import { defineHandler } from '../handler.js';
import { notControllerError } from '../cluster/leadership.js';

export default defineHandler(DeleteTopics, { min: 0, max: 6 }, async (req, ctx, broker) => {
  const wanted =
    ctx.apiVersion >= 6
      ? req.topics.map((t) => ({ name: t.name, topicId: t.topicId }))
      : req.topicNames.map((name) => ({ name: name as string | null, topicId: ZERO_UUID }));
  const notController = notControllerError(broker.cluster);
  if (notController) return { throttleTimeMs: 0, responses: wanted.map((w) => ({ name: w.name, topicId: w.topicId, ...notController })) };
  const responses = [];
  for (const w of wanted) {
    let name = w.name;
    if ((name === null || name === '') && w.topicId !== ZERO_UUID) {
      name = broker.topicAdmin.registry.topicName(w.topicId) ?? null;
      if (name === null) {
        responses.push({ name: null, topicId: w.topicId, errorCode: ErrorCode.UNKNOWN_TOPIC_ID, errorMessage: `no topic with id ${w.topicId}` });
        continue;
      }
    }
    const topicId = broker.topicAdmin.registry.topicId(name ?? '') ?? ZERO_UUID;
    const r = await broker.topicAdmin.delete(name ?? '');
    responses.push({ name, topicId, errorCode: r.errorCode, errorMessage: r.errorMessage });
  }
  return { throttleTimeMs: 0, responses };
});
