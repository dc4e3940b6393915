/**
 * Declared zones and owned slots in one real primary: a zone is refused for
 * another declaration, while being written and when it is another kind; a
 * slot has one holder, a stale release does nothing, and a dead holder (gone,
 * or its pid now another process's) is reclaimed.
 */
import path from 'node:path';
import { assertCleanTeardown, ealArgs, requireHugepages, runFixture, uniquePrefix } from '@mp/test-kit';

beforeAll(() => {
  requireHugepages();
});

afterAll(async () => {
  await assertCleanTeardown();
});

test('declared zones are checked by their header; owned slots are held once and reclaimed from the dead', async () => {
  const r = await runFixture(path.join(__dirname, 'fixtures', 'zone.ts'), [...ealArgs(uniquePrefix('zone'), ['-l', '0']), '--']);
  const line = /^RESULT (.*)$/m.exec(r.stdout)?.[1];
  if (r.code !== 0 || line === undefined) throw new Error(`fixture failed (${r.code})\n${r.stdout}\n${r.stderr}`);
  expect(JSON.parse(line)).toEqual({
    fields: 7,
    slots: 4,
    codes: { otherLayout: 'E_LAYOUT', halfWritten: 'EAGAIN', foreign: 'E_LAYOUT', tooManySlots: 'EINVAL' },
    slot: { claimed: 1, second: null, alive: true, halvesMatch: true, released: true, staleRelease: false, freeAgain: 0 },
    dead: { takenByDead: true, pid: 4194304, pidExists: false, alive: false, reclaimed: { generation: 1, pid: 4194304 }, free: 0 },
    // Its pid exists (it is ours) but its start stamp is not: only the full check tells.
    reusedPid: { pidExists: true, alive: false, reclaimed: true },
  });
});
