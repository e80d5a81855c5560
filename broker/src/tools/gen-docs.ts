// `npm run gen:docs`: writes the generated reference pages of the broker.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BROKER_CONFIG_DOC, renderBrokerConfigDoc } from './broker-config-doc.js';

const root = process.argv[2] ?? process.cwd();
await writeFile(path.join(root, BROKER_CONFIG_DOC), renderBrokerConfigDoc());
console.log(`wrote ${BROKER_CONFIG_DOC}`);
