/**
 * The pure parts, without EAL: candidate order, the exhaustion message,
 * EAL argument building, the default id set, the layout and /proc parsing.
 */
import { DpdkError, MAX_LCORE, ownerAlive, parseProcStat, readProcStat } from '@mp/dpdk-core';
import { nextGeneration, packOwnerWord, unpackOwnerWord, type Type } from '@mp/mp-ring';
import { allocatorZone, cpuSetString, defaultLeaseIds, eligible, exhaustionMessage, formatIds, lcoreEalArgs, rankCandidates, type SlotState } from '../src';

/** The allocator's layout as the tests below look at it: the lease word (an owned slot's word), field offsets, sizes. */
const layout = {
  packLeaseWord: packOwnerWord,
  unpackLeaseWord: (w: bigint) => {
    const o = unpackOwnerWord(w);
    return { generation: o.generation, ownerPid: o.pid };
  },
  nextGeneration,
  SLOT: allocatorZone.slot.offsets,
  SLOT_BYTES: allocatorZone.slotStride,
  HEADER: allocatorZone.fields.offsets,
  HEADER_BYTES: allocatorZone.slotsOffset,
  zoneBytes: allocatorZone.bytes,
  layoutHash: () => allocatorZone.hash,
};

function slot(index: number, over: Partial<SlotState> = {}): SlotState {
  return { index, id: 100 + index, socket: -1, role: '', free: true, lastClaim: 0, ...over };
}

describe('rankCandidates', () => {
  test('only free slots are candidates', () => {
    const slots = [slot(0, { free: false }), slot(1), slot(2, { free: false }), slot(3)];
    expect(rankCandidates(slots, {}, 0, 0)).toEqual([1, 3]);
  });

  test('least recently claimed first; never-claimed slots before any claimed one', () => {
    const slots = [slot(0, { lastClaim: 50 }), slot(1, { lastClaim: 10 }), slot(2), slot(3, { lastClaim: 30 })];
    expect(rankCandidates(slots, {}, 60, 0)).toEqual([2, 1, 3, 0]);
  });

  test('age survives the claim counter wrapping around 2^32', () => {
    // Tick wrapped to 5: slot 0 was claimed just before the wrap (older), slot 1 just after.
    const slots = [slot(0, { lastClaim: 0xfffffff0 }), slot(1, { lastClaim: 3 })];
    expect(rankCandidates(slots, {}, 5, 0)).toEqual([0, 1]);
  });

  test('equal slots rotate by seed so racing processes start at different ids', () => {
    const slots = [slot(0), slot(1), slot(2), slot(3)];
    expect(rankCandidates(slots, {}, 0, 0)).toEqual([0, 1, 2, 3]);
    expect(rankCandidates(slots, {}, 0, 2)).toEqual([2, 3, 0, 1]);
    expect(rankCandidates(slots, {}, 0, 7)).toEqual([3, 0, 1, 2]);
    expect(rankCandidates(slots, {}, 0, -1)).toEqual([3, 0, 1, 2]);
  });

  test('socket preference: same socket, then socket-less ids, then other sockets', () => {
    const slots = [slot(0, { socket: 1 }), slot(1, { socket: -1 }), slot(2, { socket: 0 }), slot(3, { socket: 0 })];
    expect(rankCandidates(slots, { socket: 0 }, 0, 0)).toEqual([2, 3, 1, 0]);
    expect(rankCandidates(slots, { socket: 1 }, 0, 0)).toEqual([0, 1, 2, 3]);
    expect(rankCandidates(slots, {}, 0, 0)).toEqual([0, 1, 2, 3]);
  });

  test('socket preference outranks recency', () => {
    const slots = [slot(0, { socket: 1 }), slot(1, { socket: 0, lastClaim: 99 })];
    expect(rankCandidates(slots, { socket: 0 }, 100, 0)).toEqual([1, 0]);
  });

  test('roles: tagged ids serve only their role, which falls back to untagged ids', () => {
    const slots = [slot(0, { role: 'stats' }), slot(1), slot(2, { role: 'fwd' }), slot(3, { role: 'stats' })];
    expect(rankCandidates(slots, {}, 0, 0)).toEqual([1]);
    expect(rankCandidates(slots, { role: 'stats' }, 0, 0)).toEqual([0, 3, 1]);
    expect(rankCandidates(slots, { role: 'fwd' }, 0, 0)).toEqual([2, 1]);
    expect(rankCandidates(slots, { role: 'other' }, 0, 0)).toEqual([1]);
    expect(eligible({ role: 'fwd' }, {})).toBe(false);
    expect(eligible({ role: '' }, { role: 'fwd' })).toBe(true);
  });

  test('role match outranks socket preference', () => {
    const slots = [slot(0, { socket: 0 }), slot(1, { role: 'fwd', socket: 1 })];
    expect(rankCandidates(slots, { role: 'fwd', socket: 0 }, 0, 0)).toEqual([1, 0]);
  });

  test('no slots, or none free: no candidates', () => {
    expect(rankCandidates([], {}, 0, 3)).toEqual([]);
    expect(rankCandidates([slot(0, { free: false })], {}, 0, 0)).toEqual([]);
  });
});

describe('exhaustionMessage', () => {
  test('says how many ids, who holds them (dead ones marked) and what to do', () => {
    const msg = exhaustionMessage(
      'pool',
      {},
      4,
      [
        { id: 10, role: '', ownerPid: 500, alive: true },
        { id: 11, role: '', ownerPid: 500, alive: true },
        { id: 12, role: '', ownerPid: 77, alive: false },
        { id: 13, role: 'stats', ownerPid: 9, alive: true },
      ],
    );
    expect(msg).toBe(
      "no free lcore id in allocator 'pool': all 3 untagged ids (of 4 ids in the pool) are leased: " +
        'pid 500 holds ids 10-11; pid 77 (dead, not yet reclaimed) holds id 12. ' +
        'Release leases that are no longer needed, stop floating processes, or create the allocator with more ids',
    );
  });

  test('names the role asked for', () => {
    expect(exhaustionMessage('z', { role: 'fwd' }, 1, [{ id: 3, role: 'fwd', ownerPid: 1, alive: true }])).toMatch(
      /all 1 ids for role 'fwd' or untagged \(of 1 ids in the pool\) are leased: pid 1 holds id 3\./,
    );
  });

  test('formatIds compresses runs', () => {
    expect(formatIds([7, 1, 3, 2])).toBe('ids 1-3,7');
    expect(formatIds([5])).toBe('id 5');
  });
});

describe('EAL arguments for a lease', () => {
  test('id and CPU list become one --lcores argument', () => {
    expect(lcoreEalArgs(42, '0-1')).toEqual(['--lcores=42@(0-1)']);
    expect(lcoreEalArgs({ id: 7 }, [3, 0, 1, 1, 5, 6])).toEqual(['--lcores=7@(0-1,3,5-6)']);
    expect(cpuSetString([2])).toBe('2');
    expect(cpuSetString('0,2-3')).toBe('0,2-3');
  });

  test.each([
    ['id beyond RTE_MAX_LCORE', () => lcoreEalArgs(MAX_LCORE, '0'), /lcore id: lcore ids are 0\.\.127/],
    ['negative id', () => lcoreEalArgs(-1, '0'), /lcore id/],
    ['empty CPU list', () => lcoreEalArgs(1, []), /give at least one CPU/],
    ['CPU list syntax', () => lcoreEalArgs(1, '0-'), /use a CPU list like "0-1"/],
    ['backwards range', () => lcoreEalArgs(1, '3-1'), /range 3-1 goes backwards/],
    ['CPU beyond CPU_SETSIZE', () => lcoreEalArgs(1, [1024]), /CPU set/],
  ])('%s is refused with EINVAL', (_what, f, message) => {
    let caught: unknown;
    try {
      f();
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(DpdkError);
    expect((caught as DpdkError).code).toBe('EINVAL');
    expect((caught as DpdkError).message).toMatch(message);
  });
});

describe('default id set', () => {
  test('every id below RTE_MAX_LCORE except EAL lcores and reserved ones', () => {
    const ids = defaultLeaseIds([0, 1], [5, 1]);
    expect(ids).toHaveLength(MAX_LCORE - 3);
    expect(ids).not.toContain(0);
    expect(ids).not.toContain(1);
    expect(ids).not.toContain(5);
    expect(ids[0]).toBe(2);
    expect(ids[ids.length - 1]).toBe(MAX_LCORE - 1);
  });

  test('nothing left to lease is ENOSPC', () => {
    const all = Array.from({ length: MAX_LCORE }, (_, i) => i);
    expect(() => defaultLeaseIds(all.slice(0, 64), all.slice(64))).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
  });
});

describe('layout', () => {
  test('lease word packs generation and owner pid, and the generation wraps like a u32', () => {
    const w = layout.packLeaseWord(0xfffffffe, 4194304);
    expect(layout.unpackLeaseWord(w)).toEqual({ generation: 0xfffffffe, ownerPid: 4194304 });
    expect(layout.nextGeneration(0xffffffff)).toBe(0);
    expect(layout.unpackLeaseWord(layout.packLeaseWord(layout.nextGeneration(0xffffffff), 0))).toEqual({ generation: 0, ownerPid: 0 });
  });

  test('fields fit their slot and header, aligned for the native atomics', () => {
    const slotFields = Object.entries(layout.SLOT);
    for (const [name, off] of slotFields) {
      const size = (allocatorZone.slot.fields[name as keyof typeof allocatorZone.slot.fields] as Type).align;
      expect({ name, aligned: off % size === 0, inside: off + size <= layout.SLOT_BYTES }).toEqual({ name, aligned: true, inside: true });
    }
    expect(new Set(slotFields.map(([, o]) => o)).size).toBe(slotFields.length);
    expect(layout.HEADER.transfers + 8).toBeLessThanOrEqual(layout.HEADER.roles);
    expect(layout.HEADER_BYTES % 64).toBe(0);
    expect(layout.zoneBytes(128)).toBe(layout.HEADER_BYTES + 128 * 64);
  });

  test('the layout hash is stable within a build', () => {
    expect(layout.layoutHash()).toBe(layout.layoutHash());
    expect(layout.layoutHash()).toBeGreaterThan(0);
  });
});

describe('/proc owner checks', () => {
  test('parses fields 3, 14-15 and 22 after a command name with spaces and parentheses', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    fields[0] = 'S';
    const text = `1234 (we ird) (name) ${fields.join(' ')}\n`;
    expect(parseProcStat(text)).toEqual({ state: 'S', startTicks: 22n, cpuTicks: 14 + 15 });
    expect(parseProcStat('garbage')).toBeNull();
  });

  test('this process is alive with its own start stamp, dead with another; a missing pid is dead', () => {
    const stat = readProcStat(process.pid);
    expect(stat).not.toBeNull();
    const stamp = Number((stat as { startTicks: bigint }).startTicks & 0xffffffffn);
    expect(ownerAlive(process.pid, stamp)).toBe(true);
    expect(ownerAlive(process.pid, null)).toBe(true);
    expect(ownerAlive(process.pid, (stamp + 1) >>> 0)).toBe(false);
    expect(ownerAlive(4194304, null)).toBe(false);
  });
});
