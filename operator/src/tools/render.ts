import { stringify } from 'yaml';
import { CRD_HEADER, type JsonSchema } from '../api/crd.js';

/** Deterministic YAML for a generated CRD (no line folding, so diffs stay line-based). */
export function renderCrdYaml(crd: JsonSchema): string {
  return CRD_HEADER + stringify(crd, { lineWidth: 0, aliasDuplicateObjects: false });
}
