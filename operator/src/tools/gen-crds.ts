// `npm run gen:crds`: writes the CRDs generated from the zod schemas into crds/ and the chart.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildCrds, CRD_DIRS } from '../api/crd.js';
import { renderCrdYaml } from './render.js';
import { DOC_FILE, renderOperatorDoc } from './docs.js';

async function main(): Promise<void> {
  const root = process.argv[2] ?? process.cwd();
  for (const dir of CRD_DIRS) {
    await mkdir(path.join(root, dir), { recursive: true });
    for (const { file, crd } of buildCrds()) {
      const target = path.join(root, dir, file);
      await writeFile(target, renderCrdYaml(crd));
      console.log(`wrote ${path.relative(root, target)}`);
    }
  }
  await writeFile(path.join(root, DOC_FILE), renderOperatorDoc());
  console.log(`wrote ${DOC_FILE}`);
}

main().catch((err: unknown) => {
  console.error(`gen:crds failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exitCode = 1;
});
