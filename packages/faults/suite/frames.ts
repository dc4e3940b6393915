/**
 * Malformed and truncated frames for net_pcap's rx_pcap: what a wire (or a
 * broken peer) can deliver that well-formed traffic never does.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { udpFlowFrames, writePcap } from '@mp/test-kit';

const ipv4 = (length: number, edit: (f: Buffer) => void = () => undefined): Buffer => {
  const f = Buffer.from(udpFlowFrames(1, 1, Math.max(60, length))[0] as Buffer).subarray(0, length);
  edit(f);
  return f;
};

/** Each kind of bad frame, by what is wrong with it. */
const KINDS: Record<string, () => Uint8Array | { bytes: Uint8Array; wireLength: number }> = {
  empty: () => Buffer.alloc(0),
  '1 byte': () => Buffer.from([0xff]),
  '13 bytes (no whole Ethernet header)': () => ipv4(13),
  'Ethernet header only, IPv4 type': () => ipv4(14),
  'IPv4 header cut at 20 bytes': () => ipv4(20),
  'IPv4 IHL 0': () => ipv4(60, (f) => (f[14] = 0x40)),
  'IPv4 IHL 15 beyond the frame': () => ipv4(40, (f) => (f[14] = 0x4f)),
  'IPv4 total length 65535': () => ipv4(60, (f) => f.writeUInt16BE(0xffff, 16)),
  'VLAN tag, IPv4 cut short': () => Buffer.concat([Buffer.from(ipv4(12)), Buffer.from([0x81, 0x00, 0x00, 0x05, 0x08, 0x00, 0x45])]),
  'truncated record (40 of 1514 bytes captured)': () => ({ bytes: ipv4(40), wireLength: 1514 }),
  'jumbo, 9000 bytes (over a buffer)': () => ipv4(9000),
  'well formed, 64 bytes': () => ipv4(64),
};

export function malformedPcap(copies = 4): { file: string; frames: number; kinds: string } {
  const frames = Object.values(KINDS).flatMap((make) => Array.from({ length: copies }, make));
  // A short path: a secondary gets the primary's devargs through EAL's IPC,
  // which cuts them at 64 characters (a longer rx_pcap= path breaks the
  // tx_pcap= after it, and the secondary finds no ports).
  const file = path.join(os.tmpdir(), `mpf${process.pid}.pcap`);
  writePcap(file, frames);
  process.on('exit', () => fs.rmSync(file, { force: true }));
  return { file, frames: frames.length, kinds: `${copies} each of: ${Object.keys(KINDS).join('; ')}` };
}
