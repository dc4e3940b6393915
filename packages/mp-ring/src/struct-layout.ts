/**
 * C struct layouts declared once in TypeScript: the same offsets, padding,
 * alignment and size as GCC gives the equivalent C declaration on x86-64
 * (System V ABI), including `__rte_cache_aligned` (aligned(64)) on a struct
 * type or on a member. From a layout come zero-copy typed accessors over any
 * ArrayBuffer (a memzone's view) and plain-object encode/decode (messages).
 *
 * Written here rather than taken from npm: the maintained struct libraries
 * (restructure, buffer-layout, typed-binary, typed-struct) lay fields out
 * packed, one after another, with no natural alignment or aligned(N)
 * members, so C layouts need hand-placed padding; ref-struct-di follows the
 * ABI but needs the native ref-napi stack and has no aligned(N); koffi knows
 * C layouts but is a whole native FFI whose decode copies instead of giving
 * accessors over shared memory.
 */
import { z } from 'zod';
import { dpdkError } from '@mp/dpdk-core';

/** The cache line of x86-64, what `__rte_cache_aligned` aligns to. */
export const CACHE_LINE = 64;

export type ScalarName = 'u8' | 'u16' | 'u32' | 'u64' | 'i8' | 'i16' | 'i32' | 'i64' | 'f64';
/** The scalars read and written as bigints. */
export type WideName = 'u64' | 'i64';

export interface ScalarType<N extends ScalarName = ScalarName> {
  readonly kind: 'scalar';
  readonly name: N;
  readonly size: number;
  readonly align: number;
}

export interface ArrayType<E extends Type = Type> {
  readonly kind: 'array';
  readonly of: E;
  readonly length: number;
  readonly size: number;
  readonly align: number;
}

export type Fields = Readonly<Record<string, Type>>;

export interface StructType<F extends Fields = Fields> {
  readonly kind: 'struct';
  readonly fields: F;
  /** Byte offset of each field, in declaration order. */
  readonly offsets: Readonly<Record<keyof F & string, number>>;
  readonly size: number;
  readonly align: number;
}

/** A member with a raised alignment (`T x __attribute__((aligned(N)))`); its size is T's. */
export interface AlignedType<T extends Type = Type> {
  readonly kind: 'aligned';
  readonly of: T;
  readonly size: number;
  readonly align: number;
}

export type Type = ScalarType | ArrayType | StructType | AlignedType;

function scalar<N extends ScalarName>(name: N, size: number): ScalarType<N> {
  return Object.freeze({ kind: 'scalar', name, size, align: size });
}

const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a field name must be a C/JS identifier');
const powerOfTwo = z
  .number()
  .int()
  .min(1)
  .max(4096)
  .refine((n) => (n & (n - 1)) === 0, 'alignment must be a power of two (1..4096)');
const arrayLength = z.number().int().min(1).max(1 << 24);

function check<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw dpdkError('EINVAL', 'layout', `invalid ${what}: ${r.error.issues[0]?.message ?? 'invalid'}`);
}

const roundUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/** Type constructors: `t.u16`, `t.array(t.u64, 32)`, `t.struct({...}, { align: 64 })`, `t.aligned(x, 64)`. */
export const t = {
  u8: scalar('u8', 1),
  u16: scalar('u16', 2),
  u32: scalar('u32', 4),
  u64: scalar('u64', 8),
  i8: scalar('i8', 1),
  i16: scalar('i16', 2),
  i32: scalar('i32', 4),
  i64: scalar('i64', 8),
  /** A double: counters with one writer that JavaScript adds to in place (exact up to 2^53). */
  f64: scalar('f64', 8),

  /** `E name[length]`. */
  array<E extends Type>(of: E, length: number): ArrayType<E> {
    const n = check(arrayLength, length, 'array length');
    return Object.freeze({ kind: 'array', of, length: n, size: of.size * n, align: of.align });
  },

  /**
   * `struct { ... }` in declaration order (object key order). `align` is an
   * attribute on the struct type, as in `struct s { ... } __rte_cache_aligned`:
   * it raises the type's alignment and rounds its size up to it.
   */
  struct<F extends Fields>(fields: F, opts: { align?: number } = {}): StructType<F> {
    const names = Object.keys(fields);
    if (names.length === 0) throw dpdkError('EINVAL', 'layout', 'a struct needs at least one field');
    let offset = 0;
    let align = opts.align === undefined ? 1 : check(powerOfTwo, opts.align, 'struct alignment');
    const offsets: Record<string, number> = {};
    for (const name of names) {
      check(identifier, name, `field name '${name}'`);
      const type = fields[name] as Type;
      offset = roundUp(offset, type.align);
      offsets[name] = offset;
      offset += type.size;
      align = Math.max(align, type.align);
    }
    const size = roundUp(offset, align);
    if (size > 0x7fffffff) throw dpdkError('EINVAL', 'layout', `a struct of ${size} bytes is too large`);
    return Object.freeze({ kind: 'struct', fields, offsets: Object.freeze(offsets) as StructType<F>['offsets'], size, align });
  },

  /** A member aligned to `align` bytes (`__attribute__((aligned(N)))` on the member). */
  aligned<T extends Type>(of: T, align: number): AlignedType<T> {
    const a = check(powerOfTwo, align, 'alignment');
    return Object.freeze({ kind: 'aligned', of, size: of.size, align: Math.max(a, of.align) });
  },

  /** `__rte_cache_aligned` on a member. */
  cacheAligned<T extends Type>(of: T): AlignedType<T> {
    return t.aligned(of, CACHE_LINE);
  },
};

export type Unaligned<T extends Type> = T extends AlignedType<infer U> ? U : T;

/** The plain value of a type: numbers, bigints for 64-bit, arrays, objects. */
export type ValueOf<T extends Type> =
  Unaligned<T> extends ScalarType<infer N>
    ? N extends WideName
      ? bigint
      : number
    : Unaligned<T> extends ArrayType<infer E>
      ? Array<ValueOf<E>>
      : Unaligned<T> extends StructType<infer F>
        ? { -readonly [K in keyof F]: ValueOf<F[K]> }
        : never;

type TypedArrayOf<N extends ScalarName> = {
  u8: Uint8Array;
  u16: Uint16Array;
  u32: Uint32Array;
  u64: BigUint64Array;
  i8: Int8Array;
  i16: Int16Array;
  i32: Int32Array;
  i64: BigInt64Array;
  f64: Float64Array;
}[N];

/**
 * The zero-copy view of a type over shared memory: scalars are get/set
 * properties, arrays of scalars are typed arrays over the same bytes, nested
 * structs are nested views, arrays of structs are arrays of views.
 */
export type ViewOf<T extends Type> =
  Unaligned<T> extends StructType<infer F>
    ? { -readonly [K in keyof F as Unaligned<F[K]> extends ScalarType ? K : never]: ValueOf<F[K]> } & {
        readonly [K in keyof F as Unaligned<F[K]> extends ScalarType ? never : K]: ViewOf<F[K]>;
      }
    : Unaligned<T> extends ArrayType<infer E>
      ? Unaligned<E> extends ScalarType<infer N>
        ? TypedArrayOf<N>
        : ReadonlyArray<ViewOf<E>>
      : never;

export function unaligned(type: Type): Exclude<Type, AlignedType> {
  return type.kind === 'aligned' ? unaligned(type.of) : type;
}

/** A canonical text of a layout: equal texts mean equal layouts. */
export function describeLayout(type: Type): string {
  switch (type.kind) {
    case 'scalar':
      return type.name;
    case 'array':
      return `${describeLayout(type.of)}[${type.length}]`;
    case 'aligned':
      return `${describeLayout(type.of)}@${type.align}`;
    case 'struct':
      return `{${Object.keys(type.fields)
        .map((k) => `${k}:${describeLayout(type.fields[k] as Type)}`)
        .join(',')}}@${type.align}/${type.size}`;
  }
}

/**
 * A 32-bit hash (FNV-1a) of a layout's canonical text, for checking that two
 * processes agree on it: any change to a field's name, type, offset or
 * alignment changes it. One word, so a zone header stores it in one store.
 */
export function layoutHash(type: Type | string): number {
  const text = typeof type === 'string' ? type : describeLayout(type);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * The byte offset of a member reached through `path` (field names and array
 * indexes): `offsetOf(portInfo, ['tx_stats', 2, 'tx_drop', 5])`. For code
 * that addresses shared memory by offset (native atomics, counter indexes).
 */
export function offsetOf(type: Type, path: ReadonlyArray<string | number>): number {
  let offset = 0;
  let at: Type = type;
  for (const step of path) {
    const u = unaligned(at);
    if (u.kind === 'struct' && typeof step === 'string' && step in u.fields) {
      offset += (u.offsets as Record<string, number>)[step] as number;
      at = u.fields[step] as Type;
    } else if (u.kind === 'array' && typeof step === 'number' && Number.isInteger(step) && step >= 0 && step < u.length) {
      offset += step * u.of.size;
      at = u.of;
    } else {
      throw dpdkError('EINVAL', 'offsetOf', `${describeLayout(type)} has no member at ${JSON.stringify(path)} (stuck at ${JSON.stringify(step)})`);
    }
  }
  return offset;
}

