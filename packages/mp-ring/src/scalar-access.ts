/**
 * One scalar of a layout at a byte offset of a DataView: read, range-checked,
 * written. Little-endian, as x86-64 and arm64 lay them out.
 */
import os from 'node:os';
import { dpdkError } from '@mp/dpdk-core';
import type { ScalarName, WideName } from './struct-layout';

const LITTLE = os.endianness() === 'LE';

export function readScalar(dv: DataView, off: number, name: ScalarName): number | bigint {
  switch (name) {
    case 'u8':
      return dv.getUint8(off);
    case 'i8':
      return dv.getInt8(off);
    case 'u16':
      return dv.getUint16(off, LITTLE);
    case 'i16':
      return dv.getInt16(off, LITTLE);
    case 'u32':
      return dv.getUint32(off, LITTLE);
    case 'i32':
      return dv.getInt32(off, LITTLE);
    case 'u64':
      return dv.getBigUint64(off, LITTLE);
    case 'i64':
      return dv.getBigInt64(off, LITTLE);
    case 'f64':
      return dv.getFloat64(off, LITTLE);
  }
}

const LIMITS: Record<Exclude<ScalarName, WideName | 'f64'>, [number, number]> = {
  u8: [0, 0xff],
  i8: [-0x80, 0x7f],
  u16: [0, 0xffff],
  i16: [-0x8000, 0x7fff],
  u32: [0, 0xffffffff],
  i32: [-0x80000000, 0x7fffffff],
};

/** Why `value` does not fit scalar `name`, as the end of a message that starts with its path; null when it fits. */
export function misfit(name: ScalarName, value: unknown): string | null {
  if (name === 'u64' || name === 'i64') {
    if (typeof value !== 'bigint') return ` must be a bigint (${name})`;
    const ok = name === 'u64' ? value >= 0n && value < 1n << 64n : value >= -(1n << 63n) && value < 1n << 63n;
    return ok ? null : ` = ${value} does not fit in ${name}`;
  }
  if (name === 'f64') return typeof value === 'number' ? null : ` = ${String(value)} is not a number (f64)`;
  const [lo, hi] = LIMITS[name];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < lo || value > hi) {
    return ` = ${String(value)} is not an integer in ${lo}..${hi} (${name})`;
  }
  return null;
}

/** Stores a value misfit() accepted. */
export function storeScalar(dv: DataView, off: number, name: ScalarName, value: unknown): void {
  switch (name) {
    case 'u8':
      dv.setUint8(off, value as number);
      break;
    case 'i8':
      dv.setInt8(off, value as number);
      break;
    case 'u16':
      dv.setUint16(off, value as number, LITTLE);
      break;
    case 'i16':
      dv.setInt16(off, value as number, LITTLE);
      break;
    case 'u32':
      dv.setUint32(off, value as number, LITTLE);
      break;
    case 'i32':
      dv.setInt32(off, value as number, LITTLE);
      break;
    case 'u64':
      dv.setBigUint64(off, value as bigint, LITTLE);
      break;
    case 'i64':
      dv.setBigInt64(off, value as bigint, LITTLE);
      break;
    case 'f64':
      dv.setFloat64(off, value as number, LITTLE);
      break;
  }
}

export function writeScalar(dv: DataView, off: number, name: ScalarName, value: unknown, path: string): void {
  const why = misfit(name, value);
  if (why !== null) throw dpdkError('EINVAL', 'encode', path + why);
  storeScalar(dv, off, name, value);
}

/** Reads the plain value of `type` at `offset` (a copy). */
