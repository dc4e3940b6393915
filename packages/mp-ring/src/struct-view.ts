/**
 * Values of a layout over memory: zero-copy accessors over a shared buffer
 * (viewOf) and plain-object copies (decode, encode; the messages of a message
 * ring).
 */
import { dpdkError } from '@mp/dpdk-core';
import { misfit, readScalar, storeScalar, writeScalar } from './scalar-access';
import { unaligned, type ScalarName, type StructType, type Type, type ValueOf, type ViewOf } from './struct-layout';

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
  f64: Float64Array,
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
