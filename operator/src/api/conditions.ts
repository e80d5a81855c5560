// metav1.Condition helpers: lastTransitionTime only moves when the status flips, every
// condition records the generation it was computed for, and callers can tell whether anything
// changed so they write status only when it differs.
import type { Condition } from './common.js';

export type ConditionStatus = Condition['status'];

export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
}

const REASON = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/;

/**
 * Returns a new condition list with `input` set. Keeps lastTransitionTime when the status did
 * not change; sets observedGeneration on the condition.
 */
export function setCondition(conditions: readonly Condition[] | undefined, input: ConditionInput, generation: number | undefined, now: Date): Condition[] {
  if (!REASON.test(input.reason)) throw new Error(`condition reason "${input.reason}" must be CamelCase (metav1.Condition)`);
  const list = [...(conditions ?? [])];
  const idx = list.findIndex((c) => c.type === input.type);
  const prev = idx >= 0 ? list[idx] : undefined;
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message: input.message.slice(0, 32768),
    lastTransitionTime: prev !== undefined && prev.status === input.status ? prev.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  if (idx >= 0) list[idx] = next;
  else list.push(next);
  return list;
}

/**
 * The condition list with `types` added as Unknown where missing, or undefined when none is
 * missing. Written before the first reconcile does any work, so that waiters (`kubectl wait`,
 * Argo CD, Terraform) see Unknown rather than no condition at all.
 */
export function initialConditions(conditions: readonly Condition[] | undefined, types: readonly string[], generation: number | undefined, now: Date, reason: string, message: string): Condition[] | undefined {
  const missing = types.filter((t) => getCondition(conditions, t) === undefined);
  if (missing.length === 0) return undefined;
  let list = [...(conditions ?? [])];
  for (const type of missing) list = setCondition(list, { type, status: 'Unknown', reason, message }, generation, now);
  return list;
}

export function getCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return getCondition(conditions, type)?.status === 'True';
}

/** Stable JSON for "did anything change" checks: key order does not matter. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}
