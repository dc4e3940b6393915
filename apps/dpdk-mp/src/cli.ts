/**
 * dpdk-mp: one command, named like DPDK's own tools, in front of what
 * @mp/dpdk-core knows about DPDK process groups. Each command is a module
 * loaded only when asked for, so `doctor` runs (and explains) even where the
 * native addon cannot load.
 */
import { EXIT, UsageError, parseOptions, reportError, type OptionSpec } from '@mp/dpdk-core/cli';
import type { z } from 'zod';

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

export interface Command<T> {
  options: Readonly<Record<string, OptionSpec>>;
  schema: z.ZodType<T>;
  run(opts: T): Promise<number>;
}

// Required when called: status and clean load the addon, doctor must run without it.
const COMMANDS: Record<string, () => Command<never>> = {
  status: () => (require('./status') as typeof import('./status')).command as Command<never>,
  clean: () => (require('./clean') as typeof import('./clean')).command as Command<never>,
  doctor: () => (require('./doctor') as typeof import('./doctor')).command as Command<never>,
};

/** Exit codes and messages follow @mp/dpdk-core/cli: 2 for a bad command line, 3 when the machine or a group refuses. */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    (name === undefined ? process.stderr : process.stdout).write(`${USAGE}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  try {
    const load = COMMANDS[name];
    if (load === undefined) throw new UsageError('dpdk-mp', `unknown command '${name}'\n${USAGE}`);
    const command = load();
    const opts = parseOptions(rest, { prog: 'dpdk-mp', usage: USAGE, options: command.options, schema: command.schema });
    if (opts === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return EXIT.ok;
    }
    return await command.run(opts);
  } catch (e) {
    return reportError('dpdk-mp', e);
  }
}
