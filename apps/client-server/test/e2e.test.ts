/**
 * End to end on net_pcap over live veth interfaces: known packets in on ports
 * 0 and 1 come out on the paired ports, every one, byte-identical, spread
 * over the clients round robin (or, with --distribute flow, each flow on one
 * client), and the counters in the memzone equal what was seen on the wire.
 */
import { exchange, expectedFrames, frameDiff, frameFlow, frameSeq, uniquePrefix, type Fixture, type FrameOptions } from '@mp/test-kit';
import { clientEal, serverEal, sleep, statsUntil, suiteVeths, telemetry, tsClient, tsServer } from './helpers';

const N = 400;
const veths = suiteVeths(1);

/** The tag traffic.py wrote into a frame: its input port. */
const tagOf = (hex: string, opts: FrameOptions = {}): number => Buffer.from(hex, 'hex')[(opts.flows ?? 0) > 0 ? 46 : 18] as number;

it('forwards every packet to the paired port, byte-identical, round robin over two clients', async () => {
  const prefix = uniquePrefix('cs-e2e');
  const server = tsServer('server', [...serverEal(prefix, veths.vdevs()), '--', '-p', '3', '-n', '2', '--stats-interval', '0.2', '--stats-format', 'json']);
  await server.waitForLine(/Finished Process Init/);
  const clients = [0, 1].map((c) => tsClient(`client${c}`, [...clientEal(prefix, 2 + c), '--', '-n', String(c)]));
  await Promise.all(clients.map((c) => c.waitForLine(/handling packets/)));

  const got = await exchange(veths, N);
  const stats = await statsUntil(server, (s) => s.clients.reduce((a, c) => a + c.tx + c.txDrop + c.rxDrop, 0) >= 2 * N);

  // Port 0's traffic leaves on port 1 and the other way round, all of it, byte for byte.
  expect(frameDiff(got.outOf(1), expectedFrames(0, N))).toEqual({ missing: 0, extra: 0, missingSeqs: [] });
  expect(frameDiff(got.outOf(0), expectedFrames(1, N))).toEqual({ missing: 0, extra: 0, missingSeqs: [] });

  // Client q transmits on TX queue q: what each interface saw is that client's share, in order.
  const perClient = [0, 1].map((q) => got.ofQueue(q));
  for (const frames of perClient) {
    for (const tag of [0, 1]) {
      const seqs = frames.filter((f) => tagOf(f) === tag).map((f) => frameSeq(f));
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
  }
  const [c0, c1] = perClient.map((f) => f.length) as [number, number];
  expect(Math.abs(c0 - c1)).toBeLessThanOrEqual(1);

  // The counters agree with the wire.
  expect(stats.ports.map((p) => p.rx)).toEqual([N, N]);
  expect(stats.ports.map((p) => p.tx)).toEqual([got.outOf(0).length, got.outOf(1).length]);
  expect(stats.clients.map((c) => [c.rx, c.rxDrop, c.tx, c.txDrop])).toEqual([
    [c0, 0, c0, 0],
    [c1, 0, c1, 0],
  ]);

  // DPDK's telemetry socket serves the same counters.
  await sleep(500);
  expect(telemetry(prefix, '/mp/clients')).toMatchObject({
    clients: 2,
    rx: [c0, c1],
    rx_drop: [0, 0],
    tx: [c0, c1],
    tx_drop: [0, 0],
    pid: clients.map((c) => c.pid),
  });
  expect(telemetry(prefix, '/mp/ports')).toMatchObject({ ports: 2, id: [0, 1], rx: [N, N], tx: [got.outOf(0).length, got.outOf(1).length] });

  server.kill('SIGINT');
  const codes = await Promise.all([server, ...clients].map((p) => p.waitForExit(15_000)));
  expect(codes).toEqual([0, 0, 0].map(() => ({ code: 0, signal: null })));
});

it('a client SIGKILLed and restarted with the same id drains what queued in its ring meanwhile', async () => {
  const prefix = uniquePrefix('cs-drain');
  const server = tsServer('server', [...serverEal(prefix, veths.vdevs()), '--', '-p', '3', '-n', '2', '--stats-interval', '0.2', '--stats-format', 'json']);
  await server.waitForLine(/Finished Process Init/);
  const start = (c: number): Fixture => tsClient(`client${c}`, [...clientEal(prefix, 2 + c), '--', '-n', String(c)]);
  const first = start(0);
  const other = start(1);
  await Promise.all([first, other].map((c) => c.waitForLine(/handling packets/)));
  first.kill('SIGKILL');
  await first.waitForExit();
  await server.waitForLine(/^client 0 \(pid \d+, lcore 2\) died; pool repair: /);

  // Half the frames queue in client 0's ring until its replacement runs.
  const traffic = exchange(veths, N / 4);
  await sleep(300);
  const replacement = start(0);
  const got = await traffic;
  expect(frameDiff(got.outOf(1), expectedFrames(0, N / 4))).toEqual({ missing: 0, extra: 0, missingSeqs: [] });
  expect(frameDiff(got.outOf(0), expectedFrames(1, N / 4))).toEqual({ missing: 0, extra: 0, missingSeqs: [] });
  const fromReplacement = got.ofQueue(0).length;
  expect(fromReplacement).toBeGreaterThanOrEqual(N / 4 - 1);

  server.kill('SIGINT');
  const codes = await Promise.all([server, other, replacement].map((p) => p.waitForExit(15_000)));
  expect(codes.map((c) => c.code)).toEqual([0, 0, 0]);
});

it('--distribute flow: every flow leaves through one client only, in order, and both clients carry a fair share', async () => {
  const flows = 64;
  const opts = { flows };
  const prefix = uniquePrefix('cs-flow');
  const server = tsServer('server', [...serverEal(prefix, veths.vdevs()), '--', '-p', '3', '-n', '2', '--distribute', 'flow', '--stats-interval', '0.2', '--stats-format', 'json']);
  await server.waitForLine(/Finished Process Init/);
  const clients = [0, 1].map((c) => tsClient(`client${c}`, [...clientEal(prefix, 2 + c), '--', '-n', String(c)]));
  await Promise.all(clients.map((c) => c.waitForLine(/handling packets/)));

  const got = await exchange(veths, N, opts);
  expect(frameDiff(got.outOf(1), expectedFrames(0, N, opts))).toEqual({ missing: 0, extra: 0, missingSeqs: [] });
  expect(frameDiff(got.outOf(0), expectedFrames(1, N, opts))).toEqual({ missing: 0, extra: 0, missingSeqs: [] });

  // Client q transmits on TX queue q. A flow is (input port, flow number): its frames all leave on one queue, in order.
  const clientOf = new Map<string, Set<number>>();
  for (const q of [0, 1]) {
    const seqs = new Map<string, number[]>();
    for (const f of got.ofQueue(q)) {
      const key = `${tagOf(f, opts)}/${frameFlow(f)}`;
      clientOf.set(key, (clientOf.get(key) ?? new Set()).add(q));
      seqs.set(key, [...(seqs.get(key) ?? []), frameSeq(f, opts)]);
    }
    for (const s of seqs.values()) expect(s).toEqual([...s].sort((a, b) => a - b));
  }
  expect(clientOf.size).toBe(2 * flows);
  expect([...clientOf.values()].filter((qs) => qs.size !== 1)).toEqual([]);
  // The hash spreads the 128 flows over both clients: each carries at least a third of the packets.
  const shares = [0, 1].map((q) => got.ofQueue(q).length / (2 * N));
  for (const share of shares) expect(share).toBeGreaterThanOrEqual(1 / 3);

  server.kill('SIGINT');
  const codes = await Promise.all([server, ...clients].map((p) => p.waitForExit(15_000)));
  expect(codes).toEqual([0, 0, 0].map(() => ({ code: 0, signal: null })));
});
