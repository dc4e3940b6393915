/**
 * Interop with DPDK's C client_server_mp, built from the dpdk-doc sources:
 * a C mp_client against the TS server, and a TS mp-client against the C
 * mp_server, each next to a client of the other language. Packets flow both
 * ways (port 0 -> 1 and 1 -> 0), every one, byte-identical.
 */
import { exchange, expectedFrames, frameDiff, removeLeftovers, uniquePrefix, type Fixture } from '@mp/test-kit';
import { buildC, cClient, cServer, clientEal, serverEal, statsUntil, suiteVeths, tsClient, tsServer } from './helpers';

const N = 300;
const veths = suiteVeths(2, buildC);

/** Sends N frames into each port; returns what left each port and how many each client (TX queue) sent. */
async function traffic(): Promise<{ outOf: (p: number) => string[]; perClient: number[] }> {
  const got = await exchange(veths, N);
  return { outOf: (p) => got.outOf(p), perClient: [0, 1].map((q) => got.ofQueue(q).length) };
}

async function exits(procs: Fixture[]): Promise<Array<number | null>> {
  return (await Promise.all(procs.map((p) => p.waitForExit(15_000)))).map((s) => s.code);
}

it('a C mp_client works against the TS server, next to a TS client', async () => {
  const prefix = uniquePrefix('cs-iop-ts');
  const server = tsServer('ts-server', [...serverEal(prefix, veths.vdevs()), '--', '-p', '3', '-n', '2', '--stats-interval', '0.2', '--stats-format', 'json']);
  await server.waitForLine(/Finished Process Init/);
  const c0 = cClient('c-client0', [...clientEal(prefix, 2), '--', '-n', '0']);
  const c1 = tsClient('ts-client1', [...clientEal(prefix, 3), '--', '-n', '1']);
  await Promise.all([c0.waitForLine(/Client process 0 handling packets/), c1.waitForLine(/handling packets/)]);

  const { outOf, perClient } = await traffic();
  expect(frameDiff(outOf(1), expectedFrames(0, N))).toEqual({ missing: 0, extra: 0, missingSeqs: [] });
  expect(frameDiff(outOf(0), expectedFrames(1, N))).toEqual({ missing: 0, extra: 0, missingSeqs: [] });
  expect(Math.abs((perClient[0] as number) - (perClient[1] as number))).toBeLessThanOrEqual(1);
  // The C client counts in the same port_info slot layout the TS server reads.
  const stats = await statsUntil(server, (s) => s.clients.every((c, i) => c.tx === perClient[i]));
  expect(stats.clients.map((c) => c.rx)).toEqual(perClient);

  // The C client has no SIGINT handler: it dies by the signal, leaving nothing of its own.
  c0.kill('SIGINT');
  await c0.waitForExit();
  server.kill('SIGINT');
  expect(await exits([server, c1])).toEqual([0, 0]);
});

it('a TS mp-client works against the C mp_server, next to a C client', async () => {
  const prefix = uniquePrefix('cs-iop-c');
  // The C server maps shared memory where a Node secondary can map it too
  // (the TS server does this by default). No --log-level: its "Finished
  // Process Init" is an INFO line.
  const server = cServer('c-server', [
    `--file-prefix=${prefix}`,
    '-m',
    '64',
    '--no-pci',
    '-l',
    '0',
    '--base-virtaddr=0x600000000000',
    ...veths.vdevs().map((v) => `--vdev=${v}`),
    '--',
    '-p',
    '3',
    '-n',
    '2',
  ]);
  await server.waitForLine(/Finished Process Init/, 20_000, { stream: 'stderr' });
  const c0 = tsClient('ts-client0', [...clientEal(prefix, 2), '--', '-n', '0', '--stats-interval', '0.2']);
  const c1 = cClient('c-client1', [...clientEal(prefix, 3), '--', '-n', '1']);
  await Promise.all([c0.waitForLine(/handling packets/), c1.waitForLine(/Client process 1 handling packets/)]);
  expect(c0.stderrLines.join('\n')).toMatch(/keeps no client registry/);

  const { outOf, perClient } = await traffic();
  expect(frameDiff(outOf(1), expectedFrames(0, N))).toEqual({ missing: 0, extra: 0, missingSeqs: [] });
  expect(frameDiff(outOf(0), expectedFrames(1, N))).toEqual({ missing: 0, extra: 0, missingSeqs: [] });
  expect(Math.abs((perClient[0] as number) - (perClient[1] as number))).toBeLessThanOrEqual(1);
  const from = c0.stdoutLines.length;
  const m = await c0.waitForLine(/^stats (.*)$/, 5000, { from });
  expect((JSON.parse(m[1] as string) as { tx: number }).tx).toBe(perClient[0]);

  c0.kill('SIGINT');
  c1.kill('SIGINT');
  expect(await exits([c0])).toEqual([0]);
  await c1.waitForExit();
  server.kill('SIGINT');
  expect(await exits([server])).toEqual([0]);
  // The C server exits without rte_eal_cleanup and leaves its runtime files (dpdk-facts.md).
  removeLeftovers(prefix);
});
