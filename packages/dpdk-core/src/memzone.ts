/**
 * Memzones: named shared memory reserved by one process and looked up by the
 * others, with a zero-copy view and native atomics on 32/64-bit words.
 */
import { z } from 'zod';
import { native, type Memzone } from './native';
import { validate as check } from './validate';

/** RTE_MEMZONE_NAMESIZE is 32 with the NUL. */
export const MEMZONE_NAME_MAX = 31;
/** SOCKET_ID_ANY. */
export const ANY_SOCKET = -1;

export type { Memzone };

export const memzoneNameSchema = z
  .string()
  .min(1, 'a memzone name must not be empty')
  .max(MEMZONE_NAME_MAX, `a memzone name has at most ${MEMZONE_NAME_MAX} characters (RTE_MEMZONE_NAMESIZE)`)
  .regex(/^[\x21-\x7e]+$/, 'use printable ASCII without spaces');

const reserveSchema = z
  .object({
    length: z.number().int().min(1).max(0xffffffff),
    socket: z.number().int().min(-1).max(63).default(ANY_SOCKET),
    align: z
      .number()
      .int()
      .min(1)
      .max(1 << 30)
      .refine((a) => (a & (a - 1)) === 0, 'align must be a power of two')
      .default(64),
  })
  .strict();

export type ReserveOptions = z.input<typeof reserveSchema>;


/** Reserves a zeroed memzone (usually in the primary). Only its creator frees it. */
export function reserveMemzone(name: string, opts: ReserveOptions): Memzone {
  const n = check(memzoneNameSchema, name, 'reserveMemzone', 'memzone name');
  const o = check(reserveSchema, opts, 'reserveMemzone', 'options');
  return native.reserveMemzone(n, o.length, o.socket, o.align);
}

/** Looks up a memzone another process reserved; 'ENOENT' if there is none. */
export function lookupMemzone(name: string): Memzone {
  return native.lookupMemzone(check(memzoneNameSchema, name, 'lookupMemzone', 'memzone name'));
}

/** Every memzone in the shared memory, whoever reserved it. */
export function walkMemzones(): Array<{ name: string; length: number; socket: number; hugepageSize: number }> {
  return native.walkMemzones();
}
