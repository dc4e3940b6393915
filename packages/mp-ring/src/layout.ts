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
import { createHash } from 'node:crypto';
import os from 'node:os';
import { z } from 'zod';
import { dpdkError } from '@mp/dpdk-core';

/** The cache line of x86-64, what `__rte_cache_aligned` aligns to. */
export const CACHE_LINE = 64;

const LITTLE = os.endianness() === 'LE';

export type ScalarName = 'u8' | 'u16' | 'u32' | 'u64' | 'i8' | 'i16' | 'i32' | 'i64';
type WideName = 'u64' | 'i64';

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

type Unaligned<T extends Type> = T extends AlignedType<infer U> ? U : T;

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

function unaligned(type: Type): Exclude<Type, AlignedType> {
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

/** A short hash of the layout, for checking that two processes agree on it. */
export function layoutHash(type: Type): string {
  return createHash('sha256').update(describeLayout(type)).digest('hex').slice(0, 32);
}

function readScalar(dv: DataView, off: number, name: ScalarName): number | bigint {
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
  }
}

const LIMITS: Record<Exclude<ScalarName, WideName>, [number, number]> = {
  u8: [0, 0xff],
  i8: [-0x80, 0x7f],
  u16: [0, 0xffff],
  i16: [-0x8000, 0x7fff],
  u32: [0, 0xffffffff],
  i32: [-0x80000000, 0x7fffffff],
};

/** Why `value` does not fit scalar `name`, as the end of a message that starts with its path; null when it fits. */
function misfit(name: ScalarName, value: unknown): string | null {
  if (name === 'u64' || name === 'i64') {
    if (typeof value !== 'bigint') return ` must be a bigint (${name})`;
    const ok = name === 'u64' ? value >= 0n && value < 1n << 64n : value >= -(1n << 63n) && value < 1n << 63n;
    return ok ? null : ` = ${value} does not fit in ${name}`;
  }
  const [lo, hi] = LIMITS[name];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < lo || value > hi) {
    return ` = ${String(value)} is not an integer in ${lo}..${hi} (${name})`;
  }
  return null;
}

/** Stores a value misfit() accepted. */
function storeScalar(dv: DataView, off: number, name: ScalarName, value: unknown): void {
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
  }
}

function writeScalar(dv: DataView, off: number, name: ScalarName, value: unknown, path: string): void {
  const why = misfit(name, value);
  if (why !== null) throw dpdkError('EINVAL', 'encode', path + why);
  storeScalar(dv, off, name, value);
}

/** Reads the plain value of `type` at `offset` (a copy). */
export function decode<T extends Type>(type: T, dv: DataView, offset = 0): ValueOf<T> {
  const u = unaligned(type);
  switch (u.kind) {
    case 'scalar':
      return readScalar(dv, offset, u.name) as ValueOf<T>;
    case 'array': {
      const out: unknown[] = new Array(u.length);
      for (let i = 0; i < u.length; i++) out[i] = decode(u.of, dv, offset + i * u.of.size);
      return out as ValueOf<T>;
    }
    case 'struct': {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(u.fields)) {
        out[k] = decode(u.fields[k] as Type, dv, offset + (u.offsets as Record<string, number>)[k]!);
      }
      return out as ValueOf<T>;
    }
  }
}

/**
 * Writes `value` at `offset`. Every field must be present and in range;
 * padding bytes are left as they are (zero them first for a stable image).
 */
export function encode<T extends Type>(type: T, value: ValueOf<T>, dv: DataView, offset = 0, path = 'value'): void {
  if (!tryEncode(type, value, dv, offset)) put(type, value, dv, offset, path);
}

/**
 * encode() without building field paths: false (the value partly written) at
 * the first field that does not fit. Messages are encoded with this; encode()
 * walks again with paths only to name what was wrong.
 */
export function tryEncode<T extends Type>(type: T, value: ValueOf<T>, dv: DataView, offset = 0): boolean {
  return put(type, value, dv, offset, null);
}

/** Writes `value`; at a misfit returns false when `path` is null, else throws naming the field. */
function put(type: Type, value: unknown, dv: DataView, offset: number, path: string | null): boolean {
  const u = unaligned(type);
  switch (u.kind) {
    case 'scalar': {
      const why = misfit(u.name, value);
      if (why === null) {
        storeScalar(dv, offset, u.name, value);
        return true;
      }
      if (path === null) return false;
      throw dpdkError('EINVAL', 'encode', path + why);
    }
    case 'array': {
      if (value === null || typeof value !== 'object' || (value as ArrayLike<unknown>).length !== u.length) {
        if (path === null) return false;
        throw dpdkError('EINVAL', 'encode', `${path} must be an array of ${u.length} elements`);
      }
      for (let i = 0; i < u.length; i++) {
        const at = path === null ? null : `${path}[${i}]`;
        if (!put(u.of, (value as ArrayLike<unknown>)[i], dv, offset + i * u.of.size, at)) return false;
      }
      return true;
    }
    case 'struct': {
      if (value === null || typeof value !== 'object') {
        if (path === null) return false;
        throw dpdkError('EINVAL', 'encode', `${path} must be an object`);
      }
      for (const k of Object.keys(u.fields)) {
        const at = path === null ? null : `${path}.${k}`;
        const field = (value as Record<string, unknown>)[k];
        if (!put(u.fields[k] as Type, field, dv, offset + (u.offsets as Record<string, number>)[k]!, at)) return false;
      }
      return true;
    }
  }
}

const TYPED: Record<ScalarName, new (buf: ArrayBuffer, off: number, len: number) => ArrayBufferView> = {
  u8: Uint8Array,
  i8: Int8Array,
  u16: Uint16Array,
  i16: Int16Array,
  u32: Uint32Array,
  i32: Int32Array,
  u64: BigUint64Array,
  i64: BigInt64Array,
};

function makeView(type: Type, buf: ArrayBuffer, dv: DataView, offset: number): unknown {
  const u = unaligned(type);
  switch (u.kind) {
    case 'scalar':
      throw dpdkError('EINVAL', 'view', 'a view needs a struct or an array');
    case 'array': {
      const elem = unaligned(u.of);
      if (elem.kind === 'scalar') return new TYPED[elem.name](buf, offset, u.length);
      return Object.freeze(Array.from({ length: u.length }, (_, i) => makeView(u.of, buf, dv, offset + i * u.of.size)));
    }
    case 'struct': {
      const view: Record<string, unknown> = {};
      for (const k of Object.keys(u.fields)) {
        const f = u.fields[k] as Type;
        const fu = unaligned(f);
        const off = offset + (u.offsets as Record<string, number>)[k]!;
        if (fu.kind === 'scalar') {
          const name = fu.name;
          Object.defineProperty(view, k, {
            enumerable: true,
            get: () => readScalar(dv, off, name),
            set: (v: unknown) => writeScalar(dv, off, name, v, k),
          });
        } else {
          Object.defineProperty(view, k, { enumerable: true, value: makeView(f, buf, dv, off) });
        }
      }
      return Object.seal(view);
    }
  }
}

/**
 * Typed accessors over `buffer` at `offset` (zero-copy). The offset must keep
 * every member aligned, as the C compiler would (memzones are 64-aligned).
 */
export function viewOf<T extends StructType>(type: T, buffer: ArrayBuffer, offset = 0): ViewOf<T> {
  if (offset % type.align !== 0 || offset + type.size > buffer.byteLength) {
    throw dpdkError(
      'EINVAL',
      'view',
      `a ${type.size}-byte struct aligned to ${type.align} does not fit at offset ${offset} of a ${buffer.byteLength}-byte buffer`,
    );
  }
  return makeView(type, buffer, new DataView(buffer), offset) as ViewOf<T>;
}
