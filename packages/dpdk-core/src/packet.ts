/**
 * Ethernet-level helpers: formatting and parsing addresses. Packet bytes are
 * read and written in place through packet vectors (vector.ts), or copied
 * with Burst.readBytes/writeBytes.
 */
import { z } from 'zod';
import { dpdkError } from './errors';
import { validate } from './validate';

/** RTE_ETHER_HDR_LEN: destination, source, EtherType. */
export const ETHER_HDR_LEN = 14;
export const ETHER_ADDR_LEN = 6;

/** "aa:bb:cc:dd:ee:ff" (DPDK's RTE_ETHER_ADDR_PRT_FMT, upper case) from 6 bytes. */
export function formatMac(bytes: Uint8Array): string {
  if (bytes.length < ETHER_ADDR_LEN) {
    throw dpdkError('EINVAL', 'formatMac', `a MAC address has ${ETHER_ADDR_LEN} bytes, got ${bytes.length}`);
  }
  return Array.from(bytes.subarray(0, ETHER_ADDR_LEN), (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
}

const macTextSchema = z.string().regex(/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/, 'expected six hex bytes like 02:00:00:00:00:01');

/** The 6 bytes of "aa:bb:cc:dd:ee:ff" (or with '-'). */
export function parseMac(text: string): Uint8Array {
  const t = validate(macTextSchema, text, 'parseMac', 'MAC address');
  return Uint8Array.from(t.split(/[:-]/), (h) => parseInt(h, 16));
}
