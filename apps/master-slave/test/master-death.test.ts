/**
 * The master SIGKILLed under traffic: every slave and standby notices (its
 * stdin pipe from the master closes), leaves without touching the dead
 * group's shared state and exits; none is left spinning. A new master with
 * the same --file-prefix then takes over what the dead one left, forwards,
 * and its clean stop leaves nothing. Bounds are generous (CPU hogs beside
 * the suite); the 1 s promise is the README's figure.
 */
import fs from 'node:fs';
import path from 'node:path';
import { assertCleanTeardown, ealArgs, leftovers, requireHugepages, startFixture, uniquePrefix, type Fixture } from '@mp/test-kit';

const MAIN = path.join(__dirname, '..', 'dist', 'main.js');

beforeAll(() => requireHugepages());

afterAll(async () => {
  await assertCleanTeardown();
});

type Ev = Record<string, unknown> & { event: string };

async function started(f: Fixture): Promise<Ev> {
  const m = await f.waitForLine(/^(\{"event":"started".*)$/, 90_000);
  return JSON.parse(m[1] as string) as Ev;
}

const alive = (pid: number): boolean => {
  try {
    return !/^\S+ \(.*\) [ZX]/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

it('a SIGKILLed master takes its slaves and standbys with it; a new master with the same prefix starts clean', async () => {
  const prefix = uniquePrefix('ms-master');
  const args = [...ealArgs(prefix, ['-l', '0', '--vdev=net_null0', '--vdev=net_null1']), '--', '-p', '3', '-q', '1', '-T', '0', '--float', '--json'];
  const master = startFixture(MAIN, args);
  const ev = await started(master);
  const slaves = (ev.slaves as Array<{ pid: number; standby?: { pid: number } }>).flatMap((s) => [s.pid, ...(s.standby ? [s.standby.pid] : [])]);
  expect(slaves.length).toBeGreaterThanOrEqual(2);
  expect(slaves.every(alive)).toBe(true);

  master.kill('SIGKILL');
  await master.waitForExit();
  const deadline = master.exitedAt + 10_000;
  while (slaves.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(slaves.filter(alive)).toEqual([]);

  const again = startFixture(MAIN, args);
  await started(again);
  // 'started' is printed just before the master installs its signal handlers.
  await new Promise((r) => setTimeout(r, 1000));
  again.kill('SIGINT');
  await again.waitForLine(/"event":"shutdown"/, 60_000);
  expect(await again.waitForExit(60_000)).toEqual({ code: 0, signal: null });
  expect(leftovers(prefix)).toEqual([]);
});
