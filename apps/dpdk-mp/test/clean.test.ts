/**
 * dpdk-mp clean: a dead group's runtime directory and hugepage files go, a
 * live group is refused with its primary's pid, and no other prefix is
 * touched, not even one whose name starts with the cleaned prefix followed
 * by "map_" (its files look like the cleaned prefix's to a careless match).
 */
import { assertCleanTeardown, requireHugepages } from '@mp/test-kit';
import { Namespace, dpdkMp } from './helpers';

beforeAll(() => {
  requireHugepages();
});

afterAll(async () => {
  await assertCleanTeardown();
});

/**
 * Each test runs in its own private mount namespace with an empty /run/dpdk
 * and hugetlbfs instance: DPDK processes started in it see only these, so
 * a listing shows exactly what clean removed and kept, no other test's
 * group can be touched (or touch these), and the namespace, mounts and files
 * included, goes when its last process ends.
 */
const PRIVATE_DIRS = 'mount -t tmpfs tmpfs /run/dpdk; mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages';

/** The prefixes that own something in the namespace: runtime directories, and hugepage files by prefix. */
function owners(ns: Namespace): { runtime: string[]; hugepages: string[] } {
  const [runtime = '', hugepages = ''] = ns.sh('ls /run/dpdk; echo --; ls /dev/hugepages | sed -E "s/map_[0-9]+$//" | sort | uniq -c').split('--\n');
  return { runtime: runtime.split('\n').filter(Boolean), hugepages: hugepages.split('\n').map((l) => l.trim()).filter(Boolean) };
}

it('removes exactly the files of a dead group and refuses a live one, naming its primary', async () => {
  const ns = await Namespace.create(PRIVATE_DIRS);
  try {
    // "x" and "xmap_7": a match on "<prefix>map_" alone would take the live group's files for the dead one's.
    const victim = await ns.primary('x');
    const survivor = await ns.primary('xmap_7');
    victim.kill('SIGKILL');
    await victim.waitForExit();
    const before = owners(ns);
    expect(before.runtime).toEqual(['x', 'xmap_7']);
    expect(before.hugepages).toEqual([expect.stringMatching(/^\d+ x$/), expect.stringMatching(/^\d+ xmap_7$/)]);
    const pages = Number(before.hugepages[0]?.split(' ')[0]);

    const refused = await dpdkMp(['clean', '--file-prefix', 'xmap_7'], ns);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toBe(`dpdk-mp: refused: the primary of --file-prefix=xmap_7 is alive (pid ${survivor.pid}); stop it first (kill ${survivor.pid}), it removes its own files`);
    expect(owners(ns)).toEqual(before);

    const cleaned = await dpdkMp(['clean', '--file-prefix', 'x'], ns);
    expect(cleaned).toMatchObject({ code: 0, stdout: `removed --file-prefix=x: /var/run/dpdk/x and ${pages} hugepage files in /dev/hugepages (${pages * 2} MiB)` });
    expect(owners(ns)).toEqual({ runtime: ['xmap_7'], hugepages: [before.hugepages[1]] });

    expect(await dpdkMp(['clean', '--file-prefix', 'x'], ns)).toMatchObject({ code: 0, stdout: 'nothing of --file-prefix=x on this machine' });
    survivor.kill('SIGTERM');
    expect(await survivor.waitForExit()).toEqual({ code: 0, signal: null });
    expect(owners(ns)).toEqual({ runtime: [], hugepages: [] });
  } finally {
    await ns.close();
  }
});

it('keeps the runtime directory of a live primary that keeps no config file (--in-memory): its bound sockets say it lives', async () => {
  const ns = await Namespace.create(PRIVATE_DIRS);
  try {
    const m = await ns.primary('m', ['--in-memory']);
    // Past the grace a starting primary gets.
    ns.sh("touch -d '1 hour ago' /run/dpdk/m");
    const r = await dpdkMp(['clean', '--all-dead'], ns);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^kept --file-prefix=m: the primary of --file-prefix=m is alive \(it holds its config lock or its sockets/);
    expect(owners(ns).runtime).toEqual(['m']);
    m.kill('SIGTERM');
    expect(await m.waitForExit()).toEqual({ code: 0, signal: null });
  } finally {
    await ns.close();
  }
});

it('--all-dead removes every dead group and keeps the live ones', async () => {
  const ns = await Namespace.create(PRIVATE_DIRS);
  try {
    const a = await ns.primary('a');
    const b = await ns.primary('b');
    const c = await ns.primary('c');
    a.kill('SIGKILL');
    c.kill('SIGKILL');
    await Promise.all([a.waitForExit(), c.waitForExit()]);
    const r = await dpdkMp(['clean', '--all-dead'], ns);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^removed --file-prefix=a: \/var\/run\/dpdk\/a and \d+ hugepage files in \/dev\/hugepages \(\d+ MiB\)$/);
    expect(lines[1]).toBe(`kept --file-prefix=b: the primary of --file-prefix=b is alive (pid ${b.pid}); stop it first (kill ${b.pid}), it removes its own files`);
    expect(lines[2]).toMatch(/^removed --file-prefix=c: /);
    expect(owners(ns)).toEqual({ runtime: ['b'], hugepages: [expect.stringMatching(/^\d+ b$/)] });
    b.kill('SIGTERM');
    expect(await b.waitForExit()).toEqual({ code: 0, signal: null });
    expect(owners(ns)).toEqual({ runtime: [], hugepages: [] });
  } finally {
    await ns.close();
  }
});
