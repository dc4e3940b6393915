/**
 * Command lines of mp-server and mp-client: DPDK's `[EAL options] -- [app
 * options]`, the C sample's short options plus long ones. Everything the C
 * sample leaves unchecked is an error here, raised before EAL starts. Pure:
 * no EAL, unit-tested on its own.
 */
import { DpdkError, parseEalArgs, splitArgv, type ParsedEalOption } from '@mp/dpdk-core';
import { DEFAULT_METRICS_HOST, metricsHostSchema, metricsPortSchema } from '@mp/metrics';
import { z } from 'zod';
import { DISTRIBUTIONS } from './distribute';
import { EXIT, MAX_CLIENTS, MAX_ETHPORTS } from './shared';

/** -h/--help: not an error; the message is the usage text, printed on stdout with exit code 0. */
export class HelpRequested extends Error {
  override readonly name = 'HelpRequested';
}

/** A bad command line: the message says what was wrong and how to fix it. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'EINVAL';
  readonly exitCode = EXIT.usage;
}

interface OptionSpec {
  key: string;
  short?: string;
  long: string;
  /** Takes a value (`-p 3`, `-p3`, `--portmask 3`, `--portmask=3`); otherwise a flag. */
  value: boolean;
}

/**
 * getopt_long-like scan of the app arguments into raw strings; the schemas
 * below then give them types and ranges.
 */
function scan(args: readonly string[], specs: readonly OptionSpec[], usage: string): Record<string, string | true> {
  const out: Record<string, string | true> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    let spec: OptionSpec | undefined;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
      spec = specs.find((s) => s.long === name);
    } else if (/^-[A-Za-z]/.test(arg)) {
      spec = specs.find((s) => s.short === arg[1]);
      inline = arg.length > 2 ? arg.slice(2) : undefined;
    } else {
      throw new UsageError(`unexpected argument '${arg}'\n${usage}`);
    }
    if (spec === undefined) throw new UsageError(`unknown option '${arg}'\n${usage}`);
    const shown = spec.short !== undefined ? `-${spec.short}/--${spec.long}` : `--${spec.long}`;
    if (spec.key in out) throw new UsageError(`option ${shown} given twice`);
    if (!spec.value) {
      if (inline !== undefined) throw new UsageError(`option ${shown} takes no value (got '${arg}')`);
      out[spec.key] = true;
      continue;
    }
    let value = inline;
    if (value === undefined) {
      value = args[i + 1];
      i++;
    }
    if (value === undefined || value === '') throw new UsageError(`option ${shown} needs a value\n${usage}`);
    out[spec.key] = value;
  }
  return out;
}

function firstIssue(error: z.ZodError, names: Record<string, string>): string {
  const issue = error.issues[0];
  const key = issue?.path[0];
  const where = typeof key === 'string' ? `${names[key] ?? key}: ` : '';
  return `${where}${issue?.message ?? 'invalid value'}`;
}

const statsInterval = z
  .string()
  .regex(/^\d+(\.\d+)?$/, 'give seconds as a number, e.g. 1 or 0.5 (0 turns stats off)')
  .transform(Number)
  .pipe(z.number().min(0).max(3600, 'at most 3600 seconds'));

const statsFormat = z.enum(['text', 'json'], { error: "use 'text' (a live table) or 'json' (one object per line)" });

const DURATION_MAX = 'at most 2147483 seconds (24.8 days), the longest a timer can wait';

/** Seconds, as long as a Node timer can wait (2^31-1 ms): a longer delay would fire after 1 ms. */
export const durationSchema = z
  .string()
  .regex(/^\d+(\.\d+)?$/, 'give seconds as a number, e.g. 10')
  .transform(Number)
  .pipe(
    z
      .number({ error: DURATION_MAX })
      .positive('must be more than 0 seconds')
      .max(2147483, DURATION_MAX),
  );

/** `-p` is hexadecimal like the C sample's strtoull(..., 16); "0x" is accepted. */
const portmask = z
  .string()
  .regex(/^(0[xX])?[0-9a-fA-F]+$/, 'the port mask is hexadecimal, e.g. 3 for ports 0 and 1')
  .transform((s) => BigInt(s.startsWith('0x') || s.startsWith('0X') ? s : `0x${s}`))
  .refine((m) => m !== 0n, 'the port mask is empty; set one bit per port, e.g. -p 3 for ports 0 and 1')
  .refine((m) => m < 1n << BigInt(MAX_ETHPORTS), `DPDK has at most ${MAX_ETHPORTS} ports (bits 0-${MAX_ETHPORTS - 1})`)
  .transform((m) => {
    const ids: number[] = [];
    for (let id = 0; id < MAX_ETHPORTS; id++) if ((m >> BigInt(id)) & 1n) ids.push(id);
    return ids;
  })
  .superRefine((ids, ctx) => {
    if (ids.length % 2 !== 0) {
      ctx.addIssue({
        code: 'custom',
        message: `the server pairs ports (0<->1, 2<->3), so it needs an even number of ports; the mask selects ${ids.length} (${ids.join(', ')})`,
      });
    }
  });

const decimal = (what: string) => z.string().regex(/^\d+$/, `${what} is a decimal number`).transform(Number);

const serverSchema = z.object({
  portmask,
  clients: decimal('the number of clients').pipe(
    z
      .number()
      .int()
      .min(1, 'at least 1 client')
      .max(MAX_CLIENTS, `at most ${MAX_CLIENTS} clients (the port_info memzone has ${MAX_CLIENTS} client slots)`),
  ),
  statsInterval: statsInterval.default(1),
  statsFormat: statsFormat.default('text'),
  duration: durationSchema.optional(),
  distribute: z
    .enum(DISTRIBUTIONS, { error: "use 'rr' (round robin, as the C server does) or 'flow' (every flow on one client)" })
    .default('rr'),
  metricsPort: metricsPortSchema.optional(),
  metricsHost: metricsHostSchema.optional(),
}).refine((o) => o.metricsHost === undefined || o.metricsPort !== undefined, {
  path: ['metricsHost'],
  message: 'serves metrics only with --metrics-port; add --metrics-port N',
});

const clientSchema = z.object({
  clientId: decimal('the client id').pipe(
    z
      .number()
      .int()
      .max(MAX_CLIENTS - 1, `client ids are 0-${MAX_CLIENTS - 1} (the port_info memzone has ${MAX_CLIENTS} client slots)`),
  ),
  statsInterval: statsInterval.default(0),
  statsFormat: statsFormat.default('json'),
});

export const SERVER_USAGE = `usage: mp-server [EAL options] -- -p PORTMASK -n NUM_CLIENTS [options]
  -p, --portmask PORTMASK     hexadecimal bitmask of the ports to use (an even number of ports)
  -n, --clients NUM_CLIENTS   number of client processes, 1-${MAX_CLIENTS}
      --stats-interval SEC    stats every SEC seconds (default 1, 0 = off)
      --stats-format FORMAT   text (live table, default) or json (one object per line)
      --duration SEC          stop by itself after SEC seconds, as on SIGINT
      --distribute rr|flow    rr: packets to the clients in turn (default, as the C server);
                              flow: each flow (IPv4 addresses, protocol, TCP/UDP ports;
                              other frames by MAC pair) always to the same client
      --metrics-port PORT     serve Prometheus metrics at http://HOST:PORT/metrics
      --metrics-host HOST     address to serve them on (default ${DEFAULT_METRICS_HOST})
  -h, --help                  this text`;

export const CLIENT_USAGE = `usage: mp-client [EAL options] --proc-type=secondary -- -n CLIENT_ID [options]
  -n, --client-id CLIENT_ID   which ring to read and which TX queue to use, 0-${MAX_CLIENTS - 1}
      --stats-interval SEC    print this client's counters every SEC seconds (default 0 = off)
      --stats-format FORMAT   json (default) or text
  -h, --help                  this text`;

export type ServerOptions = Omit<z.output<typeof serverSchema>, 'portmask'> & { portIds: number[] };
export type ClientOptions = z.output<typeof clientSchema>;

/** `ealArgs` as given; `eal` the same, parsed (and checked) by dpdk-core's parseEalArgs. */
export type Parsed<T> = { help: true } | { help: false; ealArgs: string[]; eal: ParsedEalOption[]; options: T };

/** A bad EAL option is a bad command line like any other (exit code 2), and is caught before EAL starts. */
function checkEalArgs(ealArgs: readonly string[], usage: string): ParsedEalOption[] {
  try {
    return parseEalArgs(ealArgs);
  } catch (e) {
    if (e instanceof DpdkError && e.code === 'EINVAL') throw new UsageError(`${e.message}\n${usage}`);
    throw e;
  }
}

const SERVER_SPECS: OptionSpec[] = [
  { key: 'portmask', short: 'p', long: 'portmask', value: true },
  { key: 'clients', short: 'n', long: 'clients', value: true },
  { key: 'statsInterval', long: 'stats-interval', value: true },
  { key: 'statsFormat', long: 'stats-format', value: true },
  { key: 'duration', long: 'duration', value: true },
  { key: 'distribute', long: 'distribute', value: true },
  { key: 'metricsPort', long: 'metrics-port', value: true },
  { key: 'metricsHost', long: 'metrics-host', value: true },
  { key: 'help', short: 'h', long: 'help', value: false },
];

const CLIENT_SPECS: OptionSpec[] = [
  { key: 'clientId', short: 'n', long: 'client-id', value: true },
  { key: 'statsInterval', long: 'stats-interval', value: true },
  { key: 'statsFormat', long: 'stats-format', value: true },
  { key: 'help', short: 'h', long: 'help', value: false },
];

const NAMES: Record<string, string> = {
  portmask: '-p/--portmask',
  clients: '-n/--clients',
  clientId: '-n/--client-id',
  statsInterval: '--stats-interval',
  statsFormat: '--stats-format',
  duration: '--duration',
  distribute: '--distribute',
  metricsPort: '--metrics-port',
  metricsHost: '--metrics-host',
};

function parse<T extends z.ZodTypeAny>(
  argv: readonly string[],
  specs: OptionSpec[],
  schema: T,
  required: string[],
  usage: string,
): Parsed<z.output<T>> {
  const { ealArgs, appArgs } = splitArgv(argv);
  if (!argv.includes('--') && argv.length > 0) {
    throw new UsageError(`application options go after '--' (DPDK's [EAL options] -- [app options])\n${usage}`);
  }
  const raw = scan(appArgs, specs, usage);
  if (raw['help'] === true) return { help: true };
  for (const key of required) {
    if (!(key in raw)) throw new UsageError(`${NAMES[key]} is required\n${usage}`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new UsageError(firstIssue(parsed.error, NAMES));
  return { help: false, ealArgs, eal: checkEalArgs(ealArgs, usage), options: parsed.data };
}

export function parseServerArgs(argv: readonly string[]): Parsed<ServerOptions> {
  const r = parse(argv, SERVER_SPECS, serverSchema, ['portmask', 'clients'], SERVER_USAGE);
  if (r.help) return r;
  const { portmask: portIds, ...rest } = r.options;
  return { ...r, options: { ...rest, portIds } };
}

export function parseClientArgs(argv: readonly string[]): Parsed<ClientOptions> {
  return parse(argv, CLIENT_SPECS, clientSchema, ['clientId'], CLIENT_USAGE);
}
