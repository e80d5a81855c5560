// External clients and tools the client tests drive. A missing tool fails the test with a message
// saying how to install it (bash .ci/run); tests never skip because a tool is absent.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './broker.js';
import { describeRun, run } from './proc.js';

/** Debian's python modules (python3-confluent-kafka, python3-kafka) load only in Debian's python. */
export const PYTHON = '/usr/bin/python3';
export const KAFKA_CLI = path.join(repoRoot, 'hack/kafka-cli.sh');
export const JAVA_DIR = path.join(repoRoot, 'test/java');
export const PYTHON_DIR = path.join(repoRoot, 'test/python');

const HINT = "run 'bash .ci/run' on this machine: it installs the client tools the tests need";

/** kcat with its librdkafka built-in codecs; returns `kcat -V` output. */
export async function requireKcat(): Promise<string> {
  let r;
  try {
    r = await run('kcat', ['-V'], { timeoutMs: 20_000 });
  } catch (e) {
    throw new Error(`kcat is not installed (${(e as Error).message}); ${HINT} (apt-get install kcat)`);
  }
  if (r.code !== 0) throw new Error(`kcat -V failed; ${HINT}\n${describeRun(r)}`);
  return r.stdout + r.stderr;
}

/** Checks that /usr/bin/python3 can import the given modules. */
export async function requirePython(modules: string[], aptPackages: string[]): Promise<void> {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} not found; ${HINT} (apt-get install python3)`);
  const r = await run(PYTHON, ['-c', modules.map((m) => `import ${m}`).join('; ')], { timeoutMs: 30_000 });
  if (r.code !== 0) {
    throw new Error(
      `${PYTHON} cannot import ${modules.join(', ')}; ${HINT} (apt-get install ${aptPackages.join(' ')})\n${r.stderr}`,
    );
  }
}

export async function requireJava(): Promise<void> {
  let r;
  try {
    r = await run('java', ['-version'], { timeoutMs: 30_000 });
  } catch (e) {
    throw new Error(`java is not installed (${(e as Error).message}); ${HINT} (openjdk-17-jdk-headless, maven)`);
  }
  if (r.code !== 0) throw new Error(`java -version failed; ${HINT}\n${describeRun(r)}`);
}

export interface ClientCheckJar {
  /** Full classpath: the program's jar plus kafka-clients and its runtime dependencies. */
  classpath: string;
}

let clientCheck: Promise<ClientCheckJar> | undefined;

/** The ClientCheck program (test/java), built with Maven if missing or older than its sources. */
export function requireClientCheck(): Promise<ClientCheckJar> {
  clientCheck ??= buildClientCheck();
  return clientCheck;
}

async function buildClientCheck(): Promise<ClientCheckJar> {
  await requireJava();
  const jar = path.join(JAVA_DIR, 'target/client-check.jar');
  const cpFile = path.join(JAVA_DIR, 'target/classpath.txt');
  const sources = [path.join(JAVA_DIR, 'pom.xml'), path.join(JAVA_DIR, 'src/main/java/automq/test/ClientCheck.java')];
  const fresh =
    existsSync(jar) &&
    existsSync(cpFile) &&
    sources.every((s) => statSync(s).mtimeMs <= statSync(jar).mtimeMs);
  if (!fresh) {
    const goals = [
      '-q', '-B', '-Dstyle.color=never', 'package', 'dependency:build-classpath',
      '-Dmdep.includeScope=runtime', `-Dmdep.outputFile=${cpFile}`,
    ];
    let r;
    try {
      r = await run('mvn', ['-o', ...goals], { timeoutMs: 300_000, cwd: JAVA_DIR });
      if (r.code !== 0) r = await run('mvn', goals, { timeoutMs: 600_000, cwd: JAVA_DIR });
    } catch (e) {
      throw new Error(`mvn is not installed (${(e as Error).message}); ${HINT} (apt-get install maven)`);
    }
    if (r.code !== 0) throw new Error(`building test/java (ClientCheck) failed; ${HINT}\n${describeRun(r)}`);
  }
  const deps = readFileSync(cpFile, 'utf8').trim();
  for (const j of deps.split(':')) {
    if (!existsSync(j)) throw new Error(`ClientCheck dependency ${j} is missing from ~/.m2; ${HINT}`);
  }
  return { classpath: `${jar}:${deps}` };
}

let kafkaCli: Promise<void> | undefined;

/** Apache Kafka's CLI tools from Maven, resolved into the cache by hack/kafka-cli.sh --prepare. */
export function requireKafkaCli(): Promise<void> {
  kafkaCli ??= (async () => {
    await requireJava();
    const r = await run(KAFKA_CLI, ['--prepare'], { timeoutMs: 600_000 });
    if (r.code !== 0) throw new Error(`Apache Kafka CLI tools are not available; ${HINT}\n${describeRun(r)}`);
  })();
  return kafkaCli;
}
