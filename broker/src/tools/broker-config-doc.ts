/**
 * docs/broker-config.md, generated from BROKER_CONFIGS (the one list the broker validates
 * `--config` against and DescribeConfigs answers from), so the reference cannot drift.
 * `npm run gen:docs` writes it; a unit test fails when it is stale.
 */
import { BROKER_CONFIGS } from '../kafka/config/broker-config.js';

export const BROKER_CONFIG_DOC = 'docs/broker-config.md';

function cell(s: string): string {
  return s.replace(/\|/g, '\\|');
}

export function renderBrokerConfigDoc(): string {
  const rows = (used: boolean) =>
    BROKER_CONFIGS.filter((d) => (d.notYetUsed === true) !== used)
      .map((d) => `| \`${d.name}\` | ${d.type} | ${d.defaultValue === '' ? '(empty)' : `\`${cell(d.defaultValue)}\``} | ${cell(d.doc)} |`)
      .join('\n');
  return `# Broker settings

<!-- Generated from broker/src/kafka/config/broker-config.ts by \`npm run gen:docs\`; do not edit. -->

Set with \`--config FILE\` (a YAML map or a \`.properties\` file) on \`automq standalone\` and
\`automq broker\`; the operator renders them from the AutoMQCluster spec (\`spec.config\` last).
A key not listed here stops the broker at startup with a message naming it. DescribeConfigs on a
broker resource returns these values; topic settings fall back to the matching broker defaults.
Standalone mode starts with \`group.initial.rebalance.delay.ms\` 0.

| key | type | default | meaning |
|---|---|---|---|
${rows(true)}

Accepted but not acted on by this release (the operator renders them for features that come
later; the broker logs a warning naming them). \`automq.table.topic.catalog.<property>\` keys are
accepted the same way.

| key | type | default | meaning |
|---|---|---|---|
${rows(false)}
`;
}
