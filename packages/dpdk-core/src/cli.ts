/**
 * The command-line convention every program of the project follows
 * (`@mp/dpdk-core/cli`, which loads no addon, so a program can report that
 * the addon cannot load):
 *
 * - options are parsed with Node's util.parseArgs, then checked with zod,
 *   all before EAL starts; a DPDK program takes `[EAL options] -- [app
 *   options]` (parseDpdkCommandLine);
 * - a bad command line is a UsageError (a DpdkError 'EINVAL'), exit 2;
 * - any other DpdkError means the machine or the process group refused
 *   (no primary, an id in use, a port missing, EAL refused), exit 3;
 * - anything else is a failure (a bug), exit 1; -h/--help prints the usage on
 *   stdout, exit 0;
 * - every message on stderr starts with the program's name (reportError).
 */
import { parseArgs } from 'node:util';
import type { z } from 'zod';
import { parseEalArgs, splitArgv, type ParsedEalOption } from './eal-args';
import { DpdkError, errnoOf, hasCode } from './errors';

/** Exit codes: what a script calling any of the project's programs can branch on. */
export const EXIT = {
  ok: 0,
  /** Something failed that should not have: a bug, or DPDK failing after the start. */
  failure: 1,
  /** The command line is wrong: an option, a value, a combination (EAL's options included). */
  usage: 2,
  /** The command line is fine, the machine or the group is not: no primary, an id or lcore in use, a missing port. */
  environment: 3,
  /** A secondary's primary died while it ran (mp-client). */
  peerGone: 4,
} as const;

/** What makes a program stop in order: Ctrl-C, kill, and a closed terminal (SIGHUP would kill it without its shutdown). */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/** The stop signals, taken by holdStopSignals() until the program can stop in order. */
export interface HeldStopSignals {
  /** From now on each stop signal calls `stop`; one that came before is handed to it at once. */
  onStop(stop: (sig: StopSignal) => void): void;
  /** Gives the signals back to whoever else listens (or to their default action). */
  release(): void;
}

/** Streams already kept from ending the program when their reader goes. */
const outputsKept = new WeakSet<NodeJS.WriteStream>();

/**
 * Keeps a program running, and its shutdown going, when its output has
 * nowhere to go: a closed terminal makes writes fail with EIO (with the
 * SIGHUP that stops the program), a reader that exited (`| tee log`, tee
 * killed) with EPIPE. With no listener, that write's 'error' event would
 * end the process at once, its ports, pools and hugepage files left as they
 * were. Output that has nowhere to go is dropped; any other error still
 * ends it.
 */
export function keepRunningWithoutOutput(): void {
  for (const out of [process.stdout, process.stderr]) {
    if (outputsKept.has(out)) continue;
    outputsKept.add(out);
    out.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EIO' && e.code !== 'EPIPE') throw e;
    });
  }
}

/**
 * Takes the stop signals before a program starts, so that none kills it
 * half started or just after it says it is ready: with no listener, Node
 * leaves a signal to its default action, which ends the process at once,
 * without its shutdown, and a signal sent as soon as the "ready" line is
 * read can come before the program's own listener is added. A signal that
 * comes while the program starts is kept and handed to `onStop` once it is
 * given, as C's samples set a quit flag their loops read once they run.
 * Take them after any wait that has no stop of its own. A program that
 * takes them also keeps running without its output
 * (keepRunningWithoutOutput): a closed terminal is one of its stops.
 */
export function holdStopSignals(): HeldStopSignals {
  keepRunningWithoutOutput();
  let stop: ((sig: StopSignal) => void) | undefined;
  let pending: StopSignal | undefined;
  const listener = (sig: StopSignal): void => {
    if (stop) stop(sig);
    else pending ??= sig;
  };
  for (const sig of STOP_SIGNALS) process.on(sig, listener);
  return {
    onStop(s) {
      stop = s;
      if (pending !== undefined) s(pending);
    },
    release() {
      for (const sig of STOP_SIGNALS) process.off(sig, listener);
    },
  };
}

/** A bad command line; the message says what was wrong and how to fix it. */
export class UsageError extends DpdkError {
  readonly exitCode = EXIT.usage;

  constructor(prog: string, message: string) {
    super('EINVAL', errnoOf('EINVAL'), prog, message);
  }
}

/** -h/--help: not an error; the usage goes to stdout and the exit code is 0. */
export class HelpRequested extends Error {
  override readonly name = 'HelpRequested';

  constructor(readonly usage: string) {
    super(usage);
  }
}

/** The exit code an error ends a program with. */
export function exitCodeOf(e: unknown): number {
  if (e instanceof HelpRequested) return EXIT.ok;
  const own = (e as { exitCode?: unknown } | null)?.exitCode;
  if (typeof own === 'number') return own;
  return hasCode(e) ? EXIT.environment : EXIT.failure;
}

/** Reports why a program stops (help on stdout, the rest on stderr, prefixed with `prog`) and returns its exit code. */
export function reportError(prog: string, e: unknown): number {
  if (e instanceof HelpRequested) {
    process.stdout.write(`${e.usage}\n`);
    return EXIT.ok;
  }
  const text = hasCode(e) ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e);
  process.stderr.write(`${text.startsWith(`${prog}: `) ? text : `${prog}: ${text}`}\n`);
  return exitCodeOf(e);
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
}

export interface CommandLine<T> {
  /** The program, as messages name it. */
  prog: string;
  usage: string;
  /** By long name; zod sees each value under the camelCase of that name (`stats-interval` -> `statsInterval`). */
  options: Readonly<Record<string, OptionSpec>>;
  schema: z.ZodType<T>;
}

const camel = (long: string): string => long.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** `-n/--clients`, or `--json` for an option without a short form. */
function shown(long: string, spec: OptionSpec | undefined): string {
  return spec?.short !== undefined ? `-${spec.short}/--${long}` : `--${long}`;
}

/**
 * getopt's rule, which the C samples follow: a string option given without
 * `=` takes the next argument, even one that starts with '-' (`-n -1`);
 * util.parseArgs would call that ambiguous. Joined here as `--long=value`.
 */
function joinValues(args: readonly string[], options: CommandLine<unknown>['options']): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const long = arg.startsWith('--') && !arg.includes('=') ? arg.slice(2) : undefined;
    const short = /^-[A-Za-z]$/.test(arg) ? Object.keys(options).find((k) => options[k]?.short === arg[1]) : undefined;
    const name = long ?? short;
    const next = args[i + 1];
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && next !== '--') {
      out.push(`--${name}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/**
 * util.parseArgs's complaint in this project's words, followed by its own
 * first sentence (which gives the option's syntax). `args` are what was
 * parsed: an option missing its value can only be the last of them.
 */
function parseArgsProblem(e: unknown, args: readonly string[], options: CommandLine<unknown>['options']): string {
  const err = e as { code?: string; message: string };
  const said = (err.message.split('\n')[0] as string).split('. ')[0] as string;
  const quoted = /'([^']*)'/.exec(said)?.[1] ?? '';
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option '${quoted}' (${said})`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument '${quoted}' (${said})`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const long = /--([\w-]+)/.exec(said)?.[1] ?? quoted;
      const spec = options[long];
      if (spec?.type === 'boolean') return `option ${shown(long, spec)} takes no value (${said})`;
      return `${args[args.length - 1] ?? shown(long, spec)} needs a value (${said})`;
    }
    default:
      return said;
  }
}

/** The first zod issue, naming the option it is about. */
function describeIssue(error: z.ZodError, values: Record<string, unknown>, longOf: ReadonlyMap<string, string>, options: CommandLine<unknown>['options']): string {
  const issue = error.issues[0];
  const key = issue?.path[0];
  const message = issue?.message ?? 'invalid value';
  if (typeof key !== 'string') return message;
  const long = longOf.get(key) ?? key;
  const name = shown(long, options[long]);
  if (values[key] === undefined && issue?.code === 'invalid_type' && /^Invalid input/.test(message)) return `${name} is required`;
  return `${name}: ${message}`;
}

/**
 * Parses a program's options (util.parseArgs, then `schema`): the options'
 * values, or 'help' for -h/--help. Every problem is a UsageError that says
 * what was wrong, then gives the usage.
 */
export function parseOptions<T>(args: readonly string[], line: CommandLine<T>): T | 'help' {
  const refuse = (message: string): UsageError => new UsageError(line.prog, `${message}\n${line.usage}`);
  let parsed: { values: Record<string, unknown>; tokens?: Array<{ kind: string; name?: string }> };
  const joined = joinValues(args, line.options);
  try {
    parsed = parseArgs({
      args: joined,
      options: { ...line.options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
      tokens: true,
    });
  } catch (e) {
    throw refuse(parseArgsProblem(e, joined, line.options));
  }
  const seen = new Set<string>();
  for (const token of parsed.tokens ?? []) {
    if (token.kind !== 'option' || token.name === undefined) continue;
    if (seen.has(token.name)) throw refuse(`option ${shown(token.name, line.options[token.name])} given twice`);
    seen.add(token.name);
  }
  if (parsed.values['help'] === true) return 'help';
  const values: Record<string, unknown> = {};
  const longOf = new Map<string, string>();
  for (const [long, value] of Object.entries(parsed.values)) {
    if (long === 'help') continue;
    values[camel(long)] = value;
    longOf.set(camel(long), long);
  }
  for (const long of Object.keys(line.options)) longOf.set(camel(long), long);
  const checked = line.schema.safeParse(values);
  if (!checked.success) throw refuse(describeIssue(checked.error, values, longOf, line.options));
  return checked.data;
}

/** A DPDK program's command line: EAL's options (checked, not yet used) and the program's own. */
export type DpdkCommandLine<T> = { help: true } | { help: false; ealArgs: string[]; eal: ParsedEalOption[]; options: T };

/**
 * `[EAL options] -- [app options]`, both checked before EAL starts: EAL's by
 * parseEalArgs, the program's by parseOptions. -h/--help works on either
 * side of '--'.
 */
export function parseDpdkCommandLine<T>(
  argv: readonly string[],
  line: CommandLine<T>,
  eal: { secondariesWillAttach?: boolean } = {},
): DpdkCommandLine<T> {
  if (!argv.includes('--')) {
    if (argv.includes('-h') || argv.includes('--help')) return { help: true };
    if (argv.length > 0) throw new UsageError(line.prog, `application options go after '--' (DPDK's [EAL options] -- [app options])\n${line.usage}`);
  }
  const { ealArgs, appArgs } = splitArgv(argv);
  const options = parseOptions(appArgs, line);
  if (options === 'help') return { help: true };
  let parsed: ParsedEalOption[];
  try {
    parsed = parseEalArgs(ealArgs, eal);
  } catch (e) {
    if (hasCode(e, 'EINVAL')) throw new UsageError(line.prog, `${e.message}\n${line.usage}`);
    throw e;
  }
  return { help: false, ealArgs, eal: parsed, options };
}
