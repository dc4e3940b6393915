/**
 * Bad input, with a server and a client forwarding all along: each bad start
 * exits by itself with a code from 1 to 127 and a message on stderr saying
 * what was wrong, leaves nothing behind, and disturbs nobody. (The C pair
 * handles 2 of 13 such cases: see issue 5.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { assertCleanTeardown, leftovers, requireHugepages, uniquePrefix, type Fixture } from '@mp/test-kit';
import { EXIT } from '@mp/dpdk-core/cli';
import { clientEal, forwarding, serverEal, tsClient, tsServer } from './helpers';

const NULL_PORTS = ['net_null0', 'net_null1'];
const prefix = uniquePrefix('cs-bad');
let server: Fixture;
let client: Fixture;

async function stillForwarding(): Promise<void> {
  expect(server.exitStatus).toBeUndefined();
  await forwarding(client);
}

function runtimeFiles(): string[] {
  return fs.readdirSync(path.join('/var/run/dpdk', prefix)).sort();
}

beforeAll(async () => {
  requireHugepages();
  server = tsServer('server', [...serverEal(prefix, NULL_PORTS), '--', '-p', '3', '-n', '2', '--stats-interval', '0']);
  await server.waitForLine(/Finished Process Init/);
  client = tsClient('client0', [...clientEal(prefix, 2), '--', '-n', '0', '--stats-interval', '0.1']);
  await stillForwarding();
});

afterAll(async () => {
  server.kill('SIGINT');
  const codes = await Promise.all([server, client].map((p) => p.waitForExit(20_000)));
  await assertCleanTeardown();
  expect(codes.map((c) => c.code)).toEqual([0, 0]);
});

interface Case {
  what: string;
  start: () => Fixture;
  code: number;
  message: RegExp;
  /** The prefix the bad process used, checked for leftovers when it is its own. */
  own?: string;
}

function badServer(what: string, app: string[], code: number, message: RegExp, ports = NULL_PORTS, extraEal: string[] = []): Case {
  const own = uniquePrefix('cs-badsrv');
  return { what, start: () => tsServer(what, [...serverEal(own, ports, ['-l', '0', ...extraEal]), '--', ...app]), code, message, own };
}

function badClient(what: string, eal: string[], app: string[], code: number, message: RegExp): Case {
  return { what, start: () => tsClient(what, [...eal, '--', ...app]), code, message };
}

const noServer = uniquePrefix('cs-noserver');

const cases: Case[] = [
  badServer('server -n 17', ['-p', '3', '-n', '17'], EXIT.usage, /at most 16 clients/),
  badServer('server -n 0', ['-p', '3', '-n', '0'], EXIT.usage, /at least 1 client/),
  badServer('server odd number of ports', ['-p', '1', '-n', '2'], EXIT.usage, /even number of ports/),
  badServer('server empty port mask', ['-p', '0', '-n', '2'], EXIT.usage, /port mask is empty/),
  badServer('server unknown port bits', ['-p', 'c', '-n', '2'], EXIT.environment, /ports 2, 3, which do not exist \(ports: 0, 1\)/),
  badServer(
    'server: net_tap with 2 clients (it needs as many RX as TX queues)',
    ['-p', '3', '-n', '2'],
    EXIT.environment,
    /port 0 \(net_tap0\) refused the server's queue plan, 1 RX queue and 2 TX queues/,
    [`net_tap0,iface=cstap${process.pid % 10000}a`, `net_tap1,iface=cstap${process.pid % 10000}b`],
  ),
  badServer('server bad stats format', ['-p', '3', '-n', '2', '--stats-format', 'xml'], EXIT.usage, /--stats-format/),
  badServer('server without -p', ['-n', '2'], EXIT.usage, /-p\/--portmask is required/),
  badServer('server as a secondary', ['-p', '3', '-n', '2'], EXIT.usage, /the server is the primary/, NULL_PORTS, ['--proc-type=secondary']),
  {
    what: 'second server on the same prefix',
    start: () => tsServer('second server', [...serverEal(prefix, NULL_PORTS), '--', '-p', '3', '-n', '2']),
    code: EXIT.environment,
    message: /cannot initialise EAL|another primary/,
  },
  badClient('client -n 16', clientEal(prefix, 5), ['-n', '16'], EXIT.usage, /client ids are 0-15/),
  badClient('client id out of range', clientEal(prefix, 5), ['-n', '5'], EXIT.environment, /client id 5 is out of range: the server runs 2 clients \(ids 0-1\)/),
  badClient('client id in use', clientEal(prefix, 5), ['-n', '0'], EXIT.environment, /client id 0 is already in use by pid \d+/),
  badClient('client before the server', clientEal(noServer, 5), ['-n', '0'], EXIT.environment, /no server is running with --file-prefix=/),
  badClient('client as a primary', [...clientEal(prefix, 5).filter((a) => !a.startsWith('--proc-type')), '--proc-type=primary'], ['-n', '1'], EXIT.usage, /a client is a secondary process/),
  badClient('client without -n', clientEal(prefix, 5), [], EXIT.usage, /-n\/--client-id is required/),
];

it.each(cases.map((c) => [c.what, c] as const))('%s: exits by itself, says why, leaves nothing, disturbs nobody', async (_what, c) => {
  const before = runtimeFiles();
  const p = c.start();
  const status = await p.waitForExit(30_000);
  expect(status.signal).toBeNull();
  expect(status.code).toBe(c.code);
  expect(status.code).toBeGreaterThanOrEqual(1);
  expect(status.code).toBeLessThanOrEqual(127);
  expect(p.stderrLines.join('\n')).toMatch(c.message);
  if (c.own !== undefined) expect(leftovers(c.own)).toEqual([]);
  expect(leftovers(noServer)).toEqual([]);
  expect(runtimeFiles()).toEqual(before);
  await stillForwarding();
});
