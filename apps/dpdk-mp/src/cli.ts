/**
 * dpdk-mp: one command, named like DPDK's own tools, in front of what
 * @mp/dpdk-core knows about DPDK process groups. Each command is a module
 * loaded only when asked for, so `doctor` runs (and explains) even where the
 * native addon cannot load.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { z } from 'zod';

/** Exit codes: what a script calling dpdk-mp can branch on. */
export const EXIT = {
  ok: 0,
  /** Something failed that should not have (a bug, an unexpected DPDK error). */
  failure: 1,
  usage: 2,
  /** The machine says no: no primary for that prefix, a live group to clean, a problem doctor found, no usable DPDK. */
  environment: 3,
} as const;

export const USAGE = `usage: dpdk-mp status [--file-prefix P] [--json] [--interval MS]
       dpdk-mp clean (--file-prefix P | --all-dead) [--json]
       dpdk-mp doctor [--json]

  status   without --file-prefix: every DPDK process group on this machine and whether its
           primary is alive. With it: attaches to that group for a moment as a secondary that
           takes nothing and shows the primary, the secondaries, lcores and lcore leases, ports
           with rates over --interval (default 1000 ms), rings, pools and memzones.
  clean    removes the runtime directory and hugepage files of a group whose primary is dead
           (--file-prefix P), or of every such group (--all-dead); refuses a live group.
  doctor   checks hugepages, their mount, DPDK and its libraries, permissions, IOMMU/vfio and
           leftover groups, and gives the command that fixes each problem.`;

/** A bad command line: the message, then the usage, exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The command line is fine and the machine refuses: exit 3 with the message. */
export class EnvironmentError extends Error {
  override readonly name = 'EnvironmentError';
}

export interface Command<T> {
  options: NonNullable<ParseArgsConfig['options']>;
  schema: z.ZodType<T>;
  run(opts: T): Promise<number>;
}

// Required when called: status and clean load the addon, doctor must run without it.
const COMMANDS: Record<string, () => Command<never>> = {
  status: () => (require('./status') as typeof import('./status')).command as Command<never>,
  clean: () => (require('./clean') as typeof import('./clean')).command as Command<never>,
  doctor: () => (require('./doctor') as typeof import('./doctor')).command as Command<never>,
};

/** The first zod issue as `--option: message`. */
function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  const where = issue?.path.length ? `--${issue.path.join('.')}: ` : '';
  return `${where}${issue?.message ?? 'invalid options'}`;
}

function parse<T>(command: Command<T>, args: string[]): T | 'help' {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args, options: { ...command.options, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values['help'] === true) return 'help';
  delete values['help'];
  const parsed = command.schema.safeParse(values);
  if (!parsed.success) throw new UsageError(describeIssue(parsed.error));
  return parsed.data;
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    (name === undefined ? process.stderr : process.stdout).write(`${USAGE}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const load = COMMANDS[name];
  try {
    if (load === undefined) throw new UsageError(`unknown command '${name}'`);
    const command = load();
    const opts = parse(command, rest);
    if (opts === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return EXIT.ok;
    }
    return await command.run(opts);
  } catch (e) {
    const err = e as Error;
    if (err instanceof UsageError) {
      process.stderr.write(`dpdk-mp: ${err.message}\n${USAGE}\n`);
      return EXIT.usage;
    }
    process.stderr.write(`dpdk-mp: ${err.message}\n`);
    // A DpdkError here is the environment (the addon cannot load, EAL refused to attach), by name: the addon may not have loaded.
    return err instanceof EnvironmentError || err.name === 'DpdkError' ? EXIT.environment : EXIT.failure;
  }
}
