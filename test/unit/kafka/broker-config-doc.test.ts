// docs/broker-config.md is generated from the broker's own config list: it must match it.
import { readFile } from 'node:fs/promises';
import { expect } from 'chai';
import { BROKER_CONFIGS } from '../../../broker/src/kafka/config/broker-config.js';
import { BROKER_CONFIG_DOC, renderBrokerConfigDoc } from '../../../broker/src/tools/broker-config-doc.js';

describe('broker settings reference', () => {
  it(`${BROKER_CONFIG_DOC} is current (run npm run gen:docs) and lists every key`, async () => {
    const committed = await readFile(BROKER_CONFIG_DOC, 'utf8');
    expect(committed, `${BROKER_CONFIG_DOC} is stale: run npm run gen:docs and commit it`).to.equal(renderBrokerConfigDoc());
    for (const d of BROKER_CONFIGS) expect(committed).to.contain(`| \`${d.name}\` |`);
  });
});
