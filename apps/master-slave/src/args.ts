/**
 * mp-l2fwd's command line, `[EAL options] -- [app options]`, with l2fwd's
 * rules: `-p PORTMASK` (hexadecimal, non-zero, required), `-q N` ports per
 * slave (1..16, default 1), `-T SECONDS` stats period (0 disables, < 86400,
 * default 10), `-f|--float`, `--no-mac-updating`, `--json` (stats as JSON
 * lines), `--cold-restart`, `--ack-timeout MS`, `--metrics-port N` and `--metrics-host H`
 * (Prometheus metrics). Parsed and checked by @mp/dpdk-core/cli before
 * EAL starts.
 */
import { HelpRequested, parseDpdkCommandLine, parseOptions, type CommandLine, type DpdkCommandLine } from '@mp/dpdk-core/cli';
import { z } from 'zod';
import { DEFAULT_METRICS_HOST, metricsHostSchema, metricsPortSchema } from '@mp/metrics';

/** A decimal number, as l2fwd reads -q and -T (strtol base 10): "0x10" is not 16. */
const decimal = (option: string) => z.string().regex(/^-?\d+(\.\d+)?$/, `${option} takes a decimal number`).transform(Number);

export const appOptionsSchema = z
  .object({
    portmask: z
      .string({ error: '-p PORTMASK is required (hexadecimal, e.g. -p 3)' })
      .regex(/^(0[xX])?[0-9a-fA-F]{1,8}$/, '-p takes a hexadecimal port mask, e.g. 3 or 0x3')
      .transform((s) => parseInt(s, 16) >>> 0)
      .refine((m) => m !== 0, '-p must select at least one port (a non-zero mask)'),
    portsPerSlave: decimal('-q').pipe(z.number().int('-q takes an integer').min(1, '-q is at least 1').max(16, '-q is at most 16')).default(1),
    statsPeriod: decimal('-T').pipe(z.number().int('-T takes whole seconds').min(0, '-T is at least 0').max(86399, '-T must be below 86400')).default(10),
    float: z.boolean().default(false),
    noMacUpdating: z.boolean().default(false),
    json: z.boolean().default(false),
    /** l2fwd_fork's recovery: restart the dead slave and its pair as new processes (no standby, no pause). */
    coldRestart: z.boolean().default(false),
    /** How long a slave asked to pause or stop has to ACK before it is killed; 100 ms is l2fwd_fork's promise on an idle machine. */
    ackTimeout: decimal('--ack-timeout')
      .pipe(z.number().int('--ack-timeout takes whole milliseconds').min(1, '--ack-timeout is at least 1 ms').max(60_000, '--ack-timeout is at most 60000 ms'))
      .default(100),
    metricsPort: metricsPortSchema.optional(),
    metricsHost: metricsHostSchema.optional(),
  })
  .strict()
  .refine((o) => o.metricsHost === undefined || o.metricsPort !== undefined, '--metrics-host goes with --metrics-port N, which turns the metrics on')
  .transform(({ noMacUpdating, ...o }) => ({ ...o, macUpdating: !noMacUpdating }));

export type AppOptions = z.output<typeof appOptionsSchema>;

export const USAGE =
  'usage: mp-l2fwd [EAL options] -- -p PORTMASK [-q PORTS_PER_SLAVE] [-T STATS_PERIOD] [-f|--float] [--no-mac-updating] [--json] [--cold-restart] [--ack-timeout MS] [--metrics-port PORT [--metrics-host HOST]]\n' +
  '  -p PORTMASK        hexadecimal mask of the ports to use (e.g. 3 for ports 0 and 1)\n' +
  '  -q N               ports each slave receives from (1..16, default 1)\n' +
  '  -T PERIOD          stats every PERIOD seconds (0 disables, default 10)\n' +
  '  -f, --float        slaves float over the CPUs with leased lcore ids\n' +
  '  --no-mac-updating  forward without rewriting MAC addresses\n' +
  '  --json             print stats and events as JSON lines\n' +
  '  --cold-restart     on a crash restart the slave and its pair as new processes\n' +
  "                     (default: promote the slave's warm standby, pause and resume its pair)\n" +
  '  --ack-timeout MS   a slave asked to pause or stop is killed after MS without an ACK (default 100)\n' +
  '  --metrics-port PORT  serve Prometheus metrics at http://HOST:PORT/metrics\n' +
  `  --metrics-host HOST  address to serve them on (default ${DEFAULT_METRICS_HOST})\n` +
  '  -h, --help         this text';

const L2FWD: CommandLine<AppOptions> = {
  prog: 'mp-l2fwd',
  usage: USAGE,
  options: {
    portmask: { type: 'string', short: 'p' },
    'ports-per-slave': { type: 'string', short: 'q' },
    'stats-period': { type: 'string', short: 'T' },
    float: { type: 'boolean', short: 'f' },
    'no-mac-updating': { type: 'boolean' },
    json: { type: 'boolean' },
    'cold-restart': { type: 'boolean' },
    'ack-timeout': { type: 'string' },
    'metrics-port': { type: 'string' },
    'metrics-host': { type: 'string' },
  },
  schema: appOptionsSchema,
};

/** Parses the application arguments; a UsageError (a DpdkError 'EINVAL') with the usage on bad input, HelpRequested for -h. */
export function parseAppArgs(argv: readonly string[]): AppOptions {
  const o = parseOptions(argv, L2FWD);
  if (o === 'help') throw new HelpRequested(USAGE);
  return o;
}

/** The whole command line, EAL's options included, checked before EAL starts (slaves will attach as secondaries). */
export function parseL2fwdCommandLine(argv: readonly string[]): DpdkCommandLine<AppOptions> {
  return parseDpdkCommandLine(argv, L2FWD, { secondariesWillAttach: true });
}

/** l2fwd's pairing: consecutive enabled ports forward to each other; an odd last port to itself. */
export function pairPorts(enabled: readonly number[]): Map<number, number> {
  const dst = new Map<number, number>();
  for (let i = 0; i < enabled.length; i += 2) {
    const a = enabled[i] as number;
    const b = enabled[i + 1];
    if (b === undefined) dst.set(a, a);
    else {
      dst.set(a, b);
      dst.set(b, a);
    }
  }
  return dst;
}

/** Ports of the mask that exist, in id order, and those that do not (which the master refuses, as l2fwd does). */
export function enabledPorts(mask: number, available: readonly number[]): { enabled: number[]; missing: number[] } {
  const enabled = available.filter((p) => p < 32 && (mask >>> p) & 1).sort((a, b) => a - b);
  const missing: number[] = [];
  for (let p = 0; p < 32; p++) if ((mask >>> p) & 1 && !available.includes(p)) missing.push(p);
  return { enabled, missing };
}

/** One forwarding unit per `q` consecutive enabled ports. */
export function slaveUnits(enabled: readonly number[], q: number): number[][] {
  const units: number[][] = [];
  for (let i = 0; i < enabled.length; i += q) units.push(enabled.slice(i, i + q));
  return units;
}
