/**
 * Layouts against the C compiler: a C program built with gcc and DPDK's
 * cflags prints sizeof/offsetof of DPDK's struct port_info (client_server_mp)
 * and of a few structs chosen for padding corner cases; the TS layouts must
 * match byte for byte. Plus encode/decode and zero-copy views.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { codeOf } from '@mp/test-kit';
import { decode, encode, layoutHash, t, viewOf, type StructType } from '../src';
import { tryEncode } from '../src/struct-view';

const COMMON_H = '/usr/share/dpdk/examples/multi_process/client_server_mp/shared/common.h';

const rxStats = t.struct({ rx: t.array(t.u64, 32) }, { align: 64 });
const txStats = t.struct({ tx: t.array(t.u64, 32), tx_drop: t.array(t.u64, 32) }, { align: 64 });
const portInfo = t.struct({
  num_ports: t.u16,
  id: t.array(t.u16, 32),
  rx_stats: rxStats,
  tx_stats: t.array(txStats, 16),
});

const mixed = t.struct({
  a: t.u8,
  b: t.u64,
  c: t.u16,
  d: t.array(t.u8, 3),
  e: t.i32,
  f: t.cacheAligned(t.u8),
  g: t.struct({ x: t.u8, y: t.i16 }),
  h: t.array(t.struct({ p: t.u32, q: t.u8 }), 3),
  i: t.i64,
  j: t.aligned(t.array(t.u16, 5), 16),
  k: t.u8,
});

const C_SOURCE = `
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <rte_config.h>
#include <rte_common.h>
#include "${COMMON_H}"

struct g_s { uint8_t x; int16_t y; };
struct h_s { uint32_t p; uint8_t q; };
struct mixed {
  uint8_t a; uint64_t b; uint16_t c; uint8_t d[3]; int32_t e;
  uint8_t f __rte_cache_aligned;
  struct g_s g; struct h_s h[3]; int64_t i;
  uint16_t j[5] __attribute__((aligned(16)));
  uint8_t k;
};

#define F(s, m) printf("\\"%s.%s\\": %zu,\\n", #s, #m, offsetof(struct s, m))
int main(void) {
  printf("{\\n");
  F(port_info, num_ports); F(port_info, id); F(port_info, rx_stats); F(port_info, tx_stats);
  F(rx_stats, rx); F(tx_stats, tx); F(tx_stats, tx_drop);
  F(mixed, a); F(mixed, b); F(mixed, c); F(mixed, d); F(mixed, e); F(mixed, f);
  F(mixed, g); F(mixed, h); F(mixed, i); F(mixed, j); F(mixed, k);
  printf("\\"sizeof.rx_stats\\": %zu, \\"sizeof.tx_stats\\": %zu, \\"alignof.port_info\\": %zu,\\n",
         sizeof(struct rx_stats), sizeof(struct tx_stats), _Alignof(struct port_info));
  printf("\\"sizeof.mixed\\": %zu, \\"alignof.mixed\\": %zu,\\n", sizeof(struct mixed), _Alignof(struct mixed));
  printf("\\"sizeof.port_info\\": %zu\\n}\\n", sizeof(struct port_info));
  return 0;
}
`;

function compiled(): Record<string, number> {
  if (!fs.existsSync(COMMON_H)) throw new Error(`${COMMON_H} is missing: install dpdk-doc (./dev test does)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-ring-layout-'));
  try {
    fs.writeFileSync(path.join(dir, 'layout.c'), C_SOURCE);
    const cflags = execFileSync('pkg-config', ['--cflags', 'libdpdk'], { encoding: 'utf8' }).trim().split(/\s+/);
    execFileSync('gcc', [...cflags, '-o', path.join(dir, 'layout'), path.join(dir, 'layout.c')], { stdio: 'pipe' });
    return JSON.parse(execFileSync(path.join(dir, 'layout'), { encoding: 'utf8' })) as Record<string, number>;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function tsLayout(): Record<string, number> {
  const out: Record<string, number> = {};
  const put = (name: string, s: StructType): void => {
    for (const [k, v] of Object.entries(s.offsets)) out[`${name}.${k}`] = v as number;
  };
  put('port_info', portInfo);
  put('rx_stats', rxStats);
  put('tx_stats', txStats);
  put('mixed', mixed);
  out['sizeof.rx_stats'] = rxStats.size;
  out['sizeof.tx_stats'] = txStats.size;
  out['alignof.port_info'] = portInfo.align;
  out['sizeof.mixed'] = mixed.size;
  out['alignof.mixed'] = mixed.align;
  out['sizeof.port_info'] = portInfo.size;
  return out;
}

test('struct port_info and a padding-heavy struct come out byte-identical to gcc', () => {
  const c = compiled();
  expect(Object.keys(c).length).toBe(24);
  expect(tsLayout()).toEqual(c);
  expect(c['sizeof.port_info']).toBe(16 * 512 + 256 + 128);
});

test('zero-copy views read and write the same bytes as encode/decode', () => {
  const buf = new ArrayBuffer(portInfo.size);
  const v = viewOf(portInfo, buf);
  v.num_ports = 2;
  v.id.set([0, 1]);
  v.rx_stats.rx[1] = 123n;
  const slot = v.tx_stats[15];
  if (!slot) throw new Error('tx_stats has 16 slots');
  slot.tx_drop[31] = 0xffffffffffffffffn;
  const dv = new DataView(buf);
  expect(dv.getUint16(0, true)).toBe(2);
  expect(dv.getUint16(4, true)).toBe(1);
  expect(dv.getBigUint64(128 + 8, true)).toBe(123n);
  expect(dv.getBigUint64(384 + 15 * 512 + 256 + 31 * 8, true)).toBe(0xffffffffffffffffn);
  const plain = decode(portInfo, dv);
  expect(plain.num_ports).toBe(2);
  expect(plain.tx_stats[15]?.tx_drop[31]).toBe(0xffffffffffffffffn);
  const copy = new ArrayBuffer(portInfo.size);
  encode(portInfo, plain, new DataView(copy));
  expect(Buffer.from(copy).equals(Buffer.from(buf))).toBe(true);
});

test('out-of-range values and malformed layouts are refused with EINVAL', () => {
  const v = viewOf(t.struct({ a: t.u8, b: t.i16, c: t.u64 }), new ArrayBuffer(16));
  expect(codeOf(() => (v.a = 256))).toBe('EINVAL');
  expect(codeOf(() => (v.b = -40000))).toBe('EINVAL');
  expect(codeOf(() => (v.a = 1.5))).toBe('EINVAL');
  expect(codeOf(() => ((v as { c: unknown }).c = 1))).toBe('EINVAL');
  expect(codeOf(() => t.struct({}))).toBe('EINVAL');
  expect(codeOf(() => t.struct({ 'not a name': t.u8 }))).toBe('EINVAL');
  expect(codeOf(() => t.aligned(t.u8, 48))).toBe('EINVAL');
  expect(codeOf(() => t.array(t.u8, 0))).toBe('EINVAL');
  expect(codeOf(() => viewOf(portInfo, new ArrayBuffer(64)))).toBe('EINVAL');
});

test('a refused value names the field it failed at; tryEncode only says whether all fit', () => {
  const s = t.struct({ a: t.u8, inner: t.array(t.struct({ x: t.u16, y: t.i64 }), 2) });
  const dv = new DataView(new ArrayBuffer(s.size));
  const good = { a: 1, inner: [{ x: 1, y: -1n }, { x: 65535, y: 2n }] };
  expect(tryEncode(s, good, dv)).toBe(true);
  expect(decode(s, dv)).toEqual(good);
  const bad = { a: 1, inner: [{ x: 1, y: -1n }, { x: 70000, y: 2n }] };
  expect(tryEncode(s, bad, dv)).toBe(false);
  expect(() => encode(s, bad, dv)).toThrow('value.inner[1].x = 70000 is not an integer in 0..65535 (u16)');
  expect(() => encode(s, { a: 1, inner: [good.inner[0]!, { x: 2, y: 3 as unknown as bigint }] }, dv, 0, 'message[4]')).toThrow(
    'message[4].inner[1].y must be a bigint (i64)',
  );
  expect(() => encode(s, { a: 1, inner: [good.inner[0]!] }, dv)).toThrow('value.inner must be an array of 2 elements');
});

test('the schema hash changes with any layout change', () => {
  const a = t.struct({ x: t.u32, y: t.u16 });
  expect(layoutHash(a)).toBe(layoutHash(t.struct({ x: t.u32, y: t.u16 })));
  expect(layoutHash(a)).not.toBe(layoutHash(t.struct({ x: t.u32, y: t.u32 })));
  expect(layoutHash(a)).not.toBe(layoutHash(t.struct({ y: t.u16, x: t.u32 })));
  expect(layoutHash(a)).not.toBe(layoutHash(t.struct({ x: t.u32, z: t.u16 })));
  expect(layoutHash(a)).not.toBe(layoutHash(t.struct({ x: t.u32, y: t.u16 }, { align: 64 })));
});
