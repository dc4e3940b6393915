/**
 * An owned slot's words over a stand-in for a memzone (a BigUint64Array with
 * the memzone's atomics, run on one thread): how the start stamp is recorded
 * when the slot is taken over between a holder's compare-exchange and its
 * stamp.
 */
import type { Memzone } from '@mp/dpdk-core';
import { OwnedSlot, ownerWords, startStampOf } from '../src';

/** Words at byte offsets; `afterSwap` runs once, right after the first successful compare-exchange of the owner word. */
function fakeZone(afterSwap: () => void): Memzone {
  const words = new BigUint64Array(4);
  let hooked = false;
  return {
    load32: (at: number) => Number((words[at >> 3] as bigint) >> BigInt((at & 7) * 8)) >>> 0,
    load64: (at: number) => words[at >> 3] as bigint,
    store64: (at: number, v: bigint) => void (words[at >> 3] = v),
    compareExchange64: (at: number, expected: bigint, desired: bigint) => {
      const seen = words[at >> 3] as bigint;
      if (seen === expected) words[at >> 3] = desired;
      if (seen === expected && at === 0 && !hooked) {
        hooked = true;
        afterSwap();
      }
      return seen;
    },
  } as unknown as Memzone;
}

test('a holder taken over between its compare-exchange and its stamp does not overwrite the stamp of the one that took it', () => {
  expect(ownerWords.offsets.word).toBe(0);
  // The parent takes the slot at the worst moment: after this process's swap, before its stamp.
  const slot: OwnedSlot = new OwnedSlot(fakeZone(() => slot.take(process.ppid)), 0);
  expect(slot.claim()).not.toBeNull();
  const now = slot.read();
  expect(now.pid).toBe(process.ppid);
  expect(slot.stampOf(now.generation)).toBe(startStampOf(process.ppid, 'test'));
  expect(slot.holderAlive()).toBe(true);
});

test('without a takeover the stamp is recorded as before', () => {
  const slot = new OwnedSlot(fakeZone(() => undefined), 0);
  const mine = slot.claim();
  expect(mine).not.toBeNull();
  expect(slot.stampOf(slot.read().generation)).toBe(startStampOf(process.pid, 'test'));
  expect(slot.release(mine!)).toBe(true);
  expect(slot.read().pid).toBe(0);
});
