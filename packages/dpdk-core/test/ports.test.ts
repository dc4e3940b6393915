/**
 * Ports and packet bursts on virtual devices, in real processes: net_pcap
 * (packets from a pcap file the test writes, out to another), net_null,
 * net_ring (a loopback), a secondary on the primary's ports, and bad input.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assertCleanTeardown, ealArgs, leftovers, requireHugepages, runFixture, startFixture, uniquePrefix } from '@mp/test-kit';
import { makeFrames, readPcap, writePcap } from '@mp/test-kit';
import { digest, rewritten } from './fixtures/views';

const FIXTURE = path.join(__dirname, 'fixtures', 'ports-process.ts');
let dir = '';

beforeAll(() => {
  requireHugepages();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpdk-core-ports-'));
});

afterAll(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  await assertCleanTeardown();
});

function result<T>(stdout: string): T {
  const m = /^RESULT (.*)$/m.exec(stdout);
  if (!m) throw new Error(`no RESULT line in:\n${stdout}`);
  return JSON.parse(m[1] as string) as T;
}

interface ForwardResult {
  rx: number;
  tx: number;
  reads: Array<{ byByte: string; copied: string }>;
  otherRx: number;
  configured: { rxDesc: number; txDesc: number; rss: boolean };
  link: { up: boolean };
  info: { driver: string; rssSupported: boolean; name: string };
  stats0: { ipackets: number; ibytes: number };
  stats1: { opackets: number; obytes: number };
  poolClosed: boolean;
  ports: number;
}

async function forward(mode: 'plain' | 'views', frames: Buffer[]): Promise<{ r: ForwardResult; out0: Buffer[]; out1: Buffer[] }> {
  const tag = mode;
  const input = path.join(dir, `${tag}-in.pcap`);
  const empty = path.join(dir, `${tag}-empty.pcap`);
  const out0 = path.join(dir, `${tag}-out0.pcap`);
  const out1 = path.join(dir, `${tag}-out1.pcap`);
  writePcap(input, frames);
  writePcap(empty, []);
  const prefix = uniquePrefix('pcap');
  const run = await runFixture(FIXTURE, [
    ...ealArgs(prefix, [
      '-l',
      '0',
      `--vdev=net_pcap0,rx_pcap=${input},tx_pcap=${out0}`,
      `--vdev=net_pcap1,rx_pcap=${empty},tx_pcap=${out1}`,
    ]),
    '--',
    'forward-pcap',
    mode,
    String(frames.length),
  ]);
  expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
  expect(leftovers(prefix)).toEqual([]);
  return { r: result<ForwardResult>(run.stdout), out0: readPcap(out0), out1: readPcap(out1) };
}

test('net_pcap: every packet received on port 0 and sent on port 1 is in the output pcap, byte for byte, in order', async () => {
  const frames = makeFrames(300);
  const { r, out0, out1 } = await forward('plain', frames);
  expect(r.rx).toBe(frames.length);
  expect(r.tx).toBe(frames.length);
  expect(r.otherRx).toBe(0);
  expect(r.link.up).toBe(true);
  expect(r.info).toMatchObject({ driver: 'net_pcap', name: 'net_pcap0', rssSupported: false });
  expect(r.configured).toEqual({ rxDesc: 1024, txDesc: 1024, rss: false, txFastFree: false });
  const bytes = frames.reduce((n, f) => n + f.length, 0);
  expect(r.stats0).toMatchObject({ ipackets: frames.length, ibytes: bytes });
  expect(r.stats1).toMatchObject({ opackets: frames.length, obytes: bytes });
  expect(r.poolClosed).toBe(true);
  expect(r.ports).toBe(0);
  expect(out0).toEqual([]);
  expect(out1.length).toBe(frames.length);
  out1.forEach((f, i) => expect(Buffer.compare(f, frames[i] as Buffer)).toBe(0));
});

test('net_pcap through a packet vector: bytes read through its views are the bytes that arrived, bytes written through them exactly what leaves port 1, 60 to 1514 bytes', async () => {
  const frames = makeFrames(300);
  expect(Math.min(...frames.map((f) => f.length))).toBe(60);
  expect(Math.max(...frames.map((f) => f.length))).toBe(1514);
  const { r, out0, out1 } = await forward('views', frames);
  expect(r.rx).toBe(frames.length);
  expect(r.tx).toBe(frames.length);
  const want = frames.map((f) => digest(f));
  expect(r.reads.map((x) => x.byByte)).toEqual(want);
  expect(r.reads.map((x) => x.copied)).toEqual(want);
  expect(out0).toEqual([]);
  expect(out1.map((f) => Buffer.from(f).toString('hex'))).toEqual(frames.map((f) => rewritten(f, 1).toString('hex')));
});

interface NullRingResult {
  ids: string[];
  nullConfigured: { rss: boolean };
  promiscuous: boolean;
  rx: number;
  tx: number;
  nullStats: { rx0: { ipackets: number }; tx1: { opackets: number }; xstats0: Array<{ name: string; value: number }> };
  afterReset: { rx0: number; tx1: number };
  nullBuffer: { buffered: number; bufferSent: number; dropped: number; burstAfter: number };
  added: number;
  ringSent: number;
  ringRx: number;
  sameContents: boolean;
  partialTx: number;
  leftInBurst: number;
  ringTxTotal: number;
  ringBuffered: number;
  ringBufferSent: number;
  ringDropped: number;
  drained: number;
  ringStats: { ipackets: number; opackets: number };
  start: number;
  inUseAtEnd: number;
}

test('net_null and net_ring: rx/tx counts match stats, TX buffers send or count drops, a full ring leaves the rest in the burst', async () => {
  const prefix = uniquePrefix('nullring');
  const run = await runFixture(FIXTURE, [
    ...ealArgs(prefix, ['-l', '0', '--vdev=net_null0', '--vdev=net_null1', '--vdev=net_ring0']),
    '--',
    'null-ring',
  ]);
  expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
  const r = result<NullRingResult>(run.stdout);
  expect(r.ids).toEqual(['net_null0', 'net_null1', 'net_ring0']);
  expect(r.nullConfigured.rss).toBe(true);
  expect(r.promiscuous).toBe(true);
  expect(r.rx).toBe(3200);
  expect(r.tx).toBe(3200);
  expect(r.nullStats.rx0.ipackets).toBe(3200);
  expect(r.nullStats.tx1.opackets).toBe(3200);
  expect(r.nullStats.xstats0).toContainEqual({ name: 'rx_good_packets', value: 3200 });
  expect(r.afterReset).toEqual({ rx0: 0, tx1: 0 });
  expect(r.nullBuffer).toMatchObject({ buffered: 320, bufferSent: 320, dropped: 0, burstAfter: 0 });
  expect([r.added, r.ringSent, r.ringRx]).toEqual([20, 20, 20]);
  expect(r.sameContents).toBe(true);
  // net_ring's ring holds 1023 packets: the burst that overflows it is sent in part.
  expect(r.ringTxTotal).toBe(1023);
  expect(r.partialTx).toBeGreaterThanOrEqual(0);
  expect(r.partialTx + r.leftInBurst).toBe(32);
  expect(r.ringBuffered).toBe(128);
  expect(r.ringBufferSent + r.ringDropped).toBe(128);
  expect(r.ringDropped).toBe(128);
  expect(r.drained).toBe(1023);
  expect(r.ringStats).toMatchObject({ ipackets: 20 + 1023, opackets: 20 + 1023 });
  expect(r.inUseAtEnd).toBe(r.start);
});

test('a secondary gets E_RTE_SECONDARY for device control, receives and sends on the primary\'s queues, and returns what it held at exit', async () => {
  const prefix = uniquePrefix('portsec');
  const primary = startFixture(FIXTURE, [...ealArgs(prefix, ['-l', '0', '--vdev=net_null0', '--vdev=net_null1']), '--', 'serve']);
  const ready = await primary.waitForJson<{ processType: string; inUse: number }>('READY');
  expect(ready.processType).toBe('primary');
  const run = await runFixture(FIXTURE, [...ealArgs(prefix, ['-l', '1', '--proc-type=secondary']), '--', 'secondary']);
  expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
  const r = result<{
    processType: string;
    results: Record<string, { code: string; message: string }>;
    rx: number;
    tx: number;
    left: number;
    created: boolean;
    stats: { ipackets: number };
    inUse: number;
    heldAtExit: number;
  }>(run.stdout);
  expect(r.processType).toBe('secondary');
  for (const op of ['configure', 'setupRxQueue', 'setupTxQueue', 'start', 'stop', 'close', 'promiscuous']) {
    expect(r.results[op]).toMatchObject({ code: 'E_RTE_SECONDARY' });
    expect(r.results[op]?.message).toMatch(/primary process/);
  }
  expect(r.results['poolFree']).toMatchObject({ code: 'EPERM' });
  expect(r.created).toBe(false);
  expect([r.rx, r.tx, r.left]).toEqual([320, 320, 0]);
  expect(r.stats.ipackets).toBe(320);
  expect(r.inUse).toBe(ready.inUse);
  expect(r.heldAtExit).toBe(10);
  primary.send('stats');
  const stats = await primary.waitForJson<{ port0: { ipackets: number }; port1: { opackets: number }; inUse: number }>('STATS');
  expect(stats.port0.ipackets).toBe(320);
  expect(stats.port1.opackets).toBe(320);
  expect(stats.inUse).toBe(ready.inUse);
  primary.send('exit');
  await primary.waitForJson('CLEANED');
  expect((await primary.waitForExit()).code).toBe(0);
  expect(leftovers(prefix)).toEqual([]);
});

test('a secondary learns that the primary stopped a port: its bursts and vector fills are refused (E_PORT_STOPPED) until the port is started again, and once it is closed', async () => {
  const prefix = uniquePrefix('portstop');
  const primary = startFixture(FIXTURE, [...ealArgs(prefix, ['-l', '0', '--vdev=net_null0', '--vdev=net_null1']), '--', 'serve']);
  await primary.waitForJson('READY');
  const user = startFixture(FIXTURE, [...ealArgs(prefix, ['-l', '1', '--proc-type=secondary']), '--', 'secondary-beside-stop']);
  expect(await user.waitForJson('ATTACHED')).toEqual({ rx: 'no error', tx: 'no error', fill: 'no error' });
  await primary.request('stop-port 0', 'PORT_STOPPED');
  const refused = await user.request<Record<string, { code: string; message: string }>>('try', 'TRIED');
  for (const op of ['rx', 'tx', 'fill']) {
    expect(refused[op]).toMatchObject({ code: 'E_PORT_STOPPED' });
    expect(refused[op]?.message).toMatch(/port 0 is stopped: the primary process stopped or closed it/);
  }
  await primary.request('start-port 0', 'PORT_STARTED');
  expect(await user.request('try', 'TRIED')).toEqual({ rx: 'no error', tx: 'no error', fill: 'no error' });
  // Closed, its driver data gone: refused the same way, without asking the driver.
  await primary.request('close-port 0', 'PORT_CLOSED');
  const closed = await user.request<Record<string, { code: string }>>('try', 'TRIED');
  for (const op of ['rx', 'tx', 'fill']) expect(closed[op]).toMatchObject({ code: 'E_PORT_STOPPED' });
  const control = await user.request<Record<string, { code: string; message: string }>>('control', 'CONTROL');
  for (const op of ['stats', 'info']) expect(control[op]).toMatchObject({ code: 'ENODEV', message: expect.stringMatching(/port 0 was closed by the primary process/) });
  await user.request('exit', 'CLEANED');
  expect((await user.waitForExit()).code).toBe(0);
  await primary.request('exit', 'CLEANED');
  expect((await primary.waitForExit()).code).toBe(0);
  expect(leftovers(prefix)).toEqual([]);
});

test('bad input: each a DpdkError (or TypeError/RangeError from a Burst) with its code and a clear message; the process lives on', async () => {
  const prefix = uniquePrefix('portbad');
  const run = await runFixture(FIXTURE, [...ealArgs(prefix, ['-l', '0', '--vdev=net_null0']), '--', 'bad-inputs']);
  expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
  const { results, alive } = result<{ results: Record<string, { code?: string; kind: string; message: string } | string>; alive: boolean }>(run.stdout);
  expect(alive).toBe(true);
  const summary = Object.fromEntries(
    Object.entries(results).map(([k, v]) => [k, typeof v === 'string' ? v : v.kind === 'DpdkError' ? v.code : v.kind]),
  );
  expect(summary).toEqual({
    'before-init': 'E_EAL_NOT_INITIALISED',
    'pool-name-too-long': 'EINVAL',
    'pool-cache-too-big': 'EINVAL',
    'pool-duplicate': 'EEXIST',
    'pool-missing': 'ENOENT',
    'burst-capacity-0': 'EINVAL',
    'burst-capacity-huge': 'EINVAL',
    'port-id-out-of-range': 'EINVAL',
    'port-missing': 'ENODEV',
    'rx-missing-port': 'ENODEV',
    'rx-not-a-burst': 'TypeError',
    'configure-too-many-queues': 'EINVAL',
    'rx-queue-setup-out-of-range': 'EINVAL',
    'rx-before-start': 'E_PORT_STOPPED',
    'tx-buffer-queue-out-of-range': 'EINVAL',
    'rx-queue-out-of-range': 'EINVAL',
    'tx-queue-out-of-range': 'EINVAL',
    'rx-port-a-string': 'TypeError',
    'tx-queue-null': 'TypeError',
    'alloc-count-a-string': 'TypeError',
    'alloc-past-room': 'ENOSPC',
    'read-past-count': 'RangeError',
    'read-not-bytes': 'TypeError',
    'write-past-end': 'RangeError',
    'resize-past-buffer': 'RangeError',
    'move-into-itself': 'RangeError',
    'pool-free-in-use': 'EBUSY',
    'pool-free-under-rx-queue': 'EBUSY',
    'tx-buffer-after-free': 'E_CLOSED',
    'port-after-close': 'E_CLOSED',
    'rx-after-close': 'ENODEV',
    'port-reopen-after-close': 'ENODEV',
    'pool-after-close': 'E_CLOSED',
    'alloc-from-closed-pool': 'E_CLOSED',
    'pool-after-free': 'E_CLOSED',
    'after-cleanup': 'E_EAL_CLOSED',
    'burst-after-cleanup': 'E_EAL_CLOSED',
  });
  const message = (k: string): string => {
    const v = results[k];
    return typeof v === 'string' ? v : v?.message ?? '';
  };
  expect(message('pool-name-too-long')).toMatch(/at most 25 characters/);
  expect(message('burst-capacity-0')).toMatch(/at least 1 packet/);
  expect(message('port-missing')).toMatch(/port 7 does not exist \(ports: 0\)/);
  expect(message('rx-queue-out-of-range')).toMatch(/rx queue 5 is out of range: port 0 has 1 rx queues/);
  expect(message('rx-before-start')).toMatch(/start the port/);
  expect(message('rx-port-a-string')).toMatch(/port must be a number/);
  expect(message('alloc-count-a-string')).toMatch(/count must be a number/);
  expect(message('pool-free-in-use')).toMatch(/1 packets in use/);
  expect(message('pool-free-under-rx-queue')).toMatch(/mempool 'bad_pool' feeds rx queue 0 of port 0; close the port/);
  expect(message('pool-missing')).toMatch(/--file-prefix/);
});
