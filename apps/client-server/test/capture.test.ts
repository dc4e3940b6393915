/**
 * DPDK's stock capture tool against the TS server: dpdk-dumpcap attaches as
 * a secondary (the server enabled the capture framework) and writes a pcapng
 * of what port 0 receives, frame for frame what was sent into it, while the
 * group goes on forwarding all of it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exchange, expectedFrames, frameDiff, startProcess, uniquePrefix } from '@mp/test-kit';
import { clientEal, serverEal, suiteVeths, tsClient, tsServer } from './helpers';

const N = 200;
const veths = suiteVeths(3);

/** The packets of a pcapng file's Enhanced Packet Blocks (type 6), little endian as dumpcap writes. */
function readPcapng(file: string): string[] {
  const data = fs.readFileSync(file);
  const frames: string[] = [];
  for (let at = 0; at + 12 <= data.length; ) {
    const type = data.readUInt32LE(at);
    const length = data.readUInt32LE(at + 4);
    if (length < 12 || at + length > data.length) throw new Error(`${file}: block of ${length} bytes at ${at} runs past the end`);
    if (type === 6) {
      const captured = data.readUInt32LE(at + 20);
      frames.push(data.subarray(at + 28, at + 28 + captured).toString('hex'));
    }
    at += length;
  }
  return frames;
}

it('dpdk-dumpcap -i 0 writes a pcapng of exactly the frames sent into port 0, and forwarding goes on', async () => {
  const prefix = uniquePrefix('cs-capture');
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mpt-capture-')), 'port0.pcapng');
  // lcore 1, not 0: dpdk-dumpcap runs as lcore 0 and frees into the capture pool the server allocates from (README).
  const server = tsServer('server', [...serverEal(prefix, veths.vdevs(), ['--lcores=1@0']), '--', '-p', '3', '-n', '2', '--stats-interval', '0']);
  await server.waitForLine(/Finished Process Init/);
  const clients = [0, 1].map((c) => tsClient(`client${c}`, [...clientEal(prefix, 2 + c), '--', '-n', String(c)]));
  await Promise.all(clients.map((c) => c.waitForLine(/handling packets/)));

  const dumpcap = startProcess('dumpcap', 'dpdk-dumpcap', [`--file-prefix=${prefix}`, '-i', '0', '-w', file, '-c', String(N)]);
  // Printed (without a newline) once the server has installed the capture callbacks.
  await dumpcap.waitForLine(/^Packets captured: /, 20_000, { stream: 'stderr', unfinished: true });
  const got = await exchange(veths, N);
  expect(await dumpcap.waitForExit(20_000)).toEqual({ code: 0, signal: null });
  expect(dumpcap.stderr).toMatch(/Packets received\/dropped on interface 'net_pcap0': 200\/0/);

  // Sent into port 0 (tag 0), in order: what dumpcap saw on port 0's RX.
  expect(readPcapng(file)).toEqual(expectedFrames(0, N));
  expect(frameDiff(got.outOf(1), expectedFrames(0, N))).toEqual({ missing: 0, extra: 0, missingSeqs: [] });
  expect(frameDiff(got.outOf(0), expectedFrames(1, N))).toEqual({ missing: 0, extra: 0, missingSeqs: [] });

  server.kill('SIGINT');
  const codes = await Promise.all([server, ...clients].map((p) => p.waitForExit(15_000)));
  expect(codes).toEqual([0, 0, 0].map(() => ({ code: 0, signal: null })));
  expect(server.stderr).not.toMatch(/secondaries still attached/);
  fs.rmSync(path.dirname(file), { recursive: true });
});
