// External processes for tests: bounded in time, output captured, always stopped by PID.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { waitFor } from './wait.js';

export interface RunOptions {
  /** Hard limit; the process gets SIGTERM, then SIGKILL 5 s later. */
  timeoutMs: number;
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface RunResult {
  command: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  durationMs: number;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Whatever a crashed or interrupted test run left running is killed when mocha's process exits. */
function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of live) {
        if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
          try {
            process.kill(c.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
    });
  }
}

export function commandLine(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

function spawnError(cmd: string, err: NodeJS.ErrnoException): Error {
  if (err.code === 'ENOENT') {
    return new Error(`${cmd} is not installed (ENOENT); run 'bash .ci/run' to install the test tools`);
  }
  return new Error(`could not start ${cmd}: ${err.message}`);
}

/** Runs a command to completion (or its time limit) and returns everything it printed. */
export function run(cmd: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    track(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      signalPid(child, 'SIGTERM');
      killTimer = setTimeout(() => signalPid(child, 'SIGKILL'), 5000);
    }, opts.timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      reject(spawnError(cmd, e));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      resolve({
        command: commandLine(cmd, args),
        code,
        signal,
        timedOut,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        durationMs: Date.now() - started,
      });
    });
    // A process that exits without reading its stdin makes the write fail with EPIPE: not our error.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

export function tail(text: string, lines = 40): string {
  const all = text.split('\n');
  return all.slice(Math.max(0, all.length - lines)).join('\n');
}

/** A failure message that shows what ran and what it printed. */
export function describeRun(r: RunResult, lines = 40): string {
  const how = r.timedOut ? `timed out after ${r.durationMs} ms` : `exited with code ${r.code} signal ${r.signal}`;
  return `${r.command}\n  ${how}\n--- stdout (tail) ---\n${tail(r.stdout, lines)}\n--- stderr (tail) ---\n${tail(r.stderr, lines)}`;
}

/** run() that throws unless the command exits 0 in time. */
export async function runOk(cmd: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.timedOut || r.code !== 0) throw new Error(`command failed: ${describeRun(r)}`);
  return r;
}

function signalPid(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(child.pid, sig);
  } catch {
    // exited between the check and the kill
  }
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A long-running process whose output is read line by line while it runs. */
export class Proc {
  readonly command: string;
  readonly pid: number;
  readonly stdoutLines: string[] = [];
  readonly stderrLines: string[] = [];
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | null = null;
  private readonly child: ChildProcess;
  private readonly maxLines: number;

  private constructor(cmd: string, args: readonly string[], child: ChildProcess, maxLines: number) {
    this.command = commandLine(cmd, args);
    this.child = child;
    this.maxLines = maxLines;
    if (child.pid === undefined) throw new Error(`could not start ${this.command}`);
    this.pid = child.pid;
    this.exited = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
    lineReader(child.stdout!, (l) => this.push(this.stdoutLines, l));
    lineReader(child.stderr!, (l) => this.push(this.stderrLines, l));
  }

  /** Starts cmd; rejects (with a "run .ci/run" hint when the tool is missing) if it cannot start. */
  static start(
    cmd: string,
    args: readonly string[],
    opts: { env?: NodeJS.ProcessEnv; cwd?: string; stdin?: 'pipe' | 'ignore'; maxLines?: number } = {},
  ): Promise<Proc> {
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, args, {
        cwd: opts.cwd,
        env: opts.env ?? process.env,
        stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'],
      });
      track(child);
      child.once('error', (e: NodeJS.ErrnoException) => reject(spawnError(cmd, e)));
      child.once('spawn', () => resolve(new Proc(cmd, args, child, opts.maxLines ?? 1_000_000)));
    });
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  get exit(): ExitInfo | null {
    return this.exitInfo;
  }

  write(data: string): void {
    this.child.stdin?.write(data);
  }

  endInput(): void {
    this.child.stdin?.end();
  }

  signal(sig: NodeJS.Signals): void {
    signalPid(this.child, sig);
  }

  /** Sends `sig` (SIGTERM by default), then SIGKILL after graceMs; resolves with how it exited. */
  async stop(graceMs = 10_000, sig: NodeJS.Signals = 'SIGTERM'): Promise<ExitInfo> {
    if (this.exitInfo) return this.exitInfo;
    this.signal(sig);
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits for the process to exit on its own within timeoutMs; kills it and throws otherwise. */
  async waitExit(timeoutMs: number): Promise<ExitInfo> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), timeoutMs);
    });
    const r = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (r === null) {
      await this.stop(2000);
      throw new Error(`${this.command} did not exit within ${timeoutMs} ms; killed it.\n${this.outputTail()}`);
    }
    return r;
  }

  async waitForLine(pred: (line: string) => boolean, timeoutMs: number, what: string): Promise<string> {
    let found: string | undefined;
    await waitFor(
      () => {
        found = this.stdoutLines.find(pred) ?? this.stderrLines.find(pred);
        if (found !== undefined) return true;
        if (!this.running) {
          throw new Error(`${this.command} exited (${JSON.stringify(this.exitInfo)}) before ${what}\n${this.outputTail()}`);
        }
        return false;
      },
      timeoutMs,
      () => `${what} (from ${this.command})\n${this.outputTail()}`,
    );
    return found!;
  }

  /** All of stdout, then all of stderr (what was kept of them), for a file kept after a failure. */
  fullOutput(): string {
    return [...this.stdoutLines, '--- stderr ---', ...this.stderrLines].join('\n') + '\n';
  }

  outputTail(lines = 30): string {
    const t = (a: string[]) => a.slice(Math.max(0, a.length - lines)).join('\n');
    return `--- stdout (tail) ---\n${t(this.stdoutLines)}\n--- stderr (tail) ---\n${t(this.stderrLines)}`;
  }

  private push(into: string[], line: string): void {
    into.push(line);
    if (into.length > this.maxLines) into.splice(0, into.length - this.maxLines);
  }
}

function lineReader(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    if (!chunk.includes('\n')) return;
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) onLine(l);
  });
  stream.on('end', () => {
    if (buf.length > 0) onLine(buf);
    buf = '';
  });
}
