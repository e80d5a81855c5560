// Decides which zone Deployments the reconciler may change now. Pod-template changes (config,
// image, resources) roll one zone at a time, and the Deployment strategy rolls one pod at a time
// inside the zone. Scale-in removes one broker at a time, only while nothing else is moving, so
// each leaving broker hands its partitions over before the next one goes.

export interface LiveDeployment {
  /** spec.replicas of the live Deployment. */
  replicas: number;
  /** TEMPLATE_HASH_ANNOTATION of the live Deployment. */
  templateHash: string | undefined;
  /**
   * Rollout finished: the controller saw the latest generation, every replica is updated, ready
   * and available, and no broker pod of the zone is still terminating.
   */
  settled: boolean;
  readyReplicas: number;
  /**
   * Broker pods of the zone that are terminating (deletionTimestamp set): brokers still in their
   * controlled shutdown, moving partitions away. A Deployment stops counting a pod in its status
   * as soon as the pod starts terminating, so status alone would call the zone settled while the
   * removed broker still drains.
   */
  terminating?: number;
}

export interface DesiredZone {
  zone: string;
  replicas: number;
  templateHash: string;
}

export type ZoneAction =
  | { zone: string; action: 'apply'; replicas: number; reason: string }
  | { zone: string; action: 'wait'; reason: string };

export interface RolloutPlan {
  actions: ZoneAction[];
  /** Something is still moving; the reconciler should come back soon. */
  progressing: boolean;
  /** Broker pods still terminating (in their controlled shutdown), over all zones. */
  terminating: number;
}

export function isSettled(d: {
  metadata?: { generation?: number };
  spec?: { replicas?: number };
  status?: { observedGeneration?: number; replicas?: number; updatedReplicas?: number; readyReplicas?: number; availableReplicas?: number };
}): boolean {
  const want = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  return (
    (s.observedGeneration ?? -1) >= (d.metadata?.generation ?? 0) &&
    (s.updatedReplicas ?? 0) === want &&
    (s.readyReplicas ?? 0) === want &&
    (s.availableReplicas ?? 0) === want &&
    (s.replicas ?? 0) === want
  );
}

/**
 * @param externalScaling when true the Deployments' replicas are owned by someone else (HPA), so
 *   only template changes are planned and the replicas in actions are the live ones.
 */
export function planRollout(desired: readonly DesiredZone[], live: ReadonlyMap<string, LiveDeployment>, externalScaling = false): RolloutPlan {
  const actions: ZoneAction[] = [];
  const rolling = desired.find((d) => {
    const l = live.get(d.zone);
    return l !== undefined && l.templateHash === d.templateHash && !l.settled;
  });
  const anyUnsettled = [...live.values()].some((l) => !l.settled);
  const draining = [...live.values()].reduce((n, l) => n + (l.terminating ?? 0), 0);
  let rollSlotFree = rolling === undefined;
  let scaleInSlotFree = !anyUnsettled;

  for (const d of desired) {
    const l = live.get(d.zone);
    if (l === undefined) {
      actions.push({ zone: d.zone, action: 'apply', replicas: d.replicas, reason: 'create' });
      continue;
    }
    const templateCurrent = l.templateHash === d.templateHash;
    if (!templateCurrent) {
      if (rollSlotFree && l.settled) {
        rollSlotFree = false;
        scaleInSlotFree = false;
        actions.push({ zone: d.zone, action: 'apply', replicas: externalScaling || d.replicas < l.replicas ? l.replicas : d.replicas, reason: 'roll' });
      } else {
        actions.push({ zone: d.zone, action: 'wait', reason: rolling ? `waiting for zone ${rolling.zone} to finish rolling` : 'waiting for this zone to settle before rolling' });
      }
      continue;
    }
    if (externalScaling || d.replicas === l.replicas) {
      actions.push({ zone: d.zone, action: 'apply', replicas: l.replicas, reason: 'in sync' });
    } else if (d.replicas > l.replicas) {
      actions.push({ zone: d.zone, action: 'apply', replicas: d.replicas, reason: 'scale out' });
    } else if (scaleInSlotFree) {
      scaleInSlotFree = false;
      actions.push({ zone: d.zone, action: 'apply', replicas: l.replicas - 1, reason: 'scale in by one broker' });
    } else {
      actions.push({
        zone: d.zone,
        action: 'apply',
        replicas: l.replicas,
        reason: draining > 0 ? `scale in waits for ${draining} terminating broker pod(s) to finish their controlled shutdown` : 'scale in waits until every broker is settled',
      });
    }
  }
  const progressing =
    anyUnsettled ||
    actions.some((a) => a.action === 'wait' || (a.action === 'apply' && a.reason !== 'in sync'));
  return { actions, progressing, terminating: draining };
}
