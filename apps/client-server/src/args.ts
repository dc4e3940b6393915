/**
 * Command lines of mp-server and mp-client: DPDK's `[EAL options] -- [app
 * options]`, the C sample's short options plus long ones, parsed and checked
 * by @mp/dpdk-core/cli (util.parseArgs, then these zod schemas) before EAL
 * starts. Everything the C sample leaves unchecked is an error here. Pure: no
 * EAL, unit-tested on its own.
 */
import { parseDpdkCommandLine, type DpdkCommandLine } from '@mp/dpdk-core/cli';
import { DEFAULT_METRICS_HOST, metricsHostSchema, metricsPortSchema } from '@mp/metrics';
import { z } from 'zod';
import { DISTRIBUTIONS } from './distribute';
import { MAX_CLIENTS, MAX_ETHPORTS } from './shared';

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

export type Parsed<T> = DpdkCommandLine<T>;

const STATS_OPTIONS = { 'stats-interval': { type: 'string' }, 'stats-format': { type: 'string' } } as const;

export function parseServerArgs(argv: readonly string[]): Parsed<ServerOptions> {
  const r = parseDpdkCommandLine(argv, {
    prog: 'mp-server',
    usage: SERVER_USAGE,
    options: { portmask: { type: 'string', short: 'p' }, clients: { type: 'string', short: 'n' }, ...STATS_OPTIONS, duration: { type: 'string' }, distribute: { type: 'string' }, 'metrics-port': { type: 'string' }, 'metrics-host': { type: 'string' } },
    schema: serverSchema,
  });
  if (r.help) return r;
  const { portmask: portIds, ...rest } = r.options;
  return { ...r, options: { ...rest, portIds } };
}

export function parseClientArgs(argv: readonly string[]): Parsed<ClientOptions> {
  return parseDpdkCommandLine(argv, {
    prog: 'mp-client',
    usage: CLIENT_USAGE,
    options: { 'client-id': { type: 'string', short: 'n' }, ...STATS_OPTIONS },
    schema: clientSchema,
  });
}
