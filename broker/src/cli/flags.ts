/**
 * Command-line flags: `--name value` or `--name=value`, each also settable as the environment
 * variable AUTOMQ_<NAME_IN_CAPS> (dashes become underscores). Flags win over the environment.
 * Validation is a zod schema per command; any problem becomes one line naming the flag.
 */
import { z } from 'zod';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function envName(flag: string): string {
  return 'AUTOMQ_' + flag.replace(/-/g, '_').toUpperCase();
}

/** Collects raw string values for the known flags from argv and env. */
export function collectFlags(argv: readonly string[], known: readonly string[], env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of known) {
    const v = env[envName(name)];
    if (v !== undefined && v !== '') out[name] = v;
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}"; flags look like --name value`);
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    if (!known.includes(name)) throw new UsageError(`unknown flag --${name}; known flags: ${known.map((k) => '--' + k).join(', ')}`);
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`flag --${name} needs a value`);
      i++;
    }
    out[name] = value;
  }
  return out;
}

/** Turns a zod failure into one line naming the flag and its env variable. */
export function describeZodError(err: z.ZodError): string {
  const issue = err.issues[0];
  if (!issue) return 'invalid flags';
  const flag = String(issue.path[0] ?? '');
  return flag ? `invalid --${flag} (or ${envName(flag)}): ${issue.message}` : issue.message;
}

export const hostPort = z.string().transform((s, ctx) => {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    ctx.addIssue({ code: 'custom', message: `"${s}" is not HOST:PORT (e.g. 127.0.0.1:9092)` });
    return z.NEVER;
  }
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
});

export const intString = (min: number, max: number) =>
  z.string().transform((s, ctx) => {
    if (!/^-?\d+$/.test(s) || Number(s) < min || Number(s) > max) {
      ctx.addIssue({ code: 'custom', message: `"${s}" is not an integer between ${min} and ${max}` });
      return z.NEVER;
    }
    return Number(s);
  });
