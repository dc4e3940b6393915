/**
 * dpdk-mp doctor on this machine as it is, and on the machine with its
 * hugepages taken away. Taking them away for real would starve every DPDK
 * test running beside this one (the hugetlbfs mount and the kernel's page
 * pool are shared), so it happens in a private mount namespace that only the
 * processes started in it see, and that disappears with them: nothing to
 * restore, even if the test fails half way.
 */
import fs from 'node:fs';
import { assertCleanTeardown, requireHugepages, uniquePrefix } from '@mp/test-kit';
import { Namespace, dpdkMp } from './helpers';
import type { Check } from '../src/doctor';

beforeAll(() => {
  requireHugepages();
});

afterAll(async () => {
  await assertCleanTeardown();
});

async function doctor(ns?: Namespace): Promise<{ code: number | null; checks: Map<string, Check> }> {
  const r = await dpdkMp(['doctor', '--json'], ns);
  const checks = (JSON.parse(r.stdout) as { checks: Check[] }).checks;
  return { code: r.code, checks: new Map(checks.map((c) => [c.name, c])) };
}

it('finds this machine ready (the setup script prepared it)', async () => {
  const { code, checks } = await doctor();
  expect(code).toBe(0);
  for (const name of ['hugepages', 'hugetlbfs', 'free hugepages', 'DPDK', 'DPDK drivers', 'permissions']) {
    expect(checks.get(name)).toMatchObject({ status: 'ok' });
  }
  expect(checks.get('DPDK')?.detail).toMatch(/^DPDK 22\.11\.\d+; the @mp\/dpdk-core addon loads$/);
  const text = await dpdkMp(['doctor']);
  expect(text.stdout).toMatch(/^ok {4}hugetlbfs +\/dev\/hugepages \(2 MiB pages\)$/m);
  expect(text.stdout).toMatch(/\nno problem found$/);
});

it('reports an unmounted hugetlbfs with the command that mounts it, and that command fixes it', async () => {
  // A private /run/dpdk too: the primary that fails there leaves its runtime directory behind.
  const ns = await Namespace.create('mount -t tmpfs tmpfs /run/dpdk; umount -a -t hugetlbfs');
  try {
    const broken = await doctor(ns);
    expect(broken.code).toBe(3);
    expect(broken.checks.get('hugetlbfs')).toEqual({
      name: 'hugetlbfs',
      status: 'fail',
      detail: 'no hugetlbfs is mounted: DPDK cannot map hugepages',
      fix: 'mkdir -p /dev/hugepages && mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages',
    });
    // It is the real problem: a primary cannot start there.
    const p = ns.startPrimary(uniquePrefix('mp-doctor'));
    expect((await p.waitForExit(30_000)).code).not.toBe(0);
    expect(p.stderr).toMatch(/rte_eal_init failed/);

    ns.sh(broken.checks.get('hugetlbfs')?.fix as string);
    const fixed = await doctor(ns);
    expect(fixed.checks.get('hugetlbfs')).toMatchObject({ status: 'ok', detail: '/dev/hugepages (2 MiB pages)' });
  } finally {
    await ns.close();
  }
  // The machine never lost its mount.
  expect(fs.readFileSync('/proc/mounts', 'utf8')).toMatch(/ \/dev\/hugepages hugetlbfs /);
});

it('reports zero reserved hugepages with the command that reserves them', async () => {
  // The namespace shows doctor a kernel with no pages: the sysfs counters are covered by a file holding 0.
  const ns = await Namespace.create(
    'mount -t tmpfs tmpfs /mnt; echo 0 > /mnt/zero; for f in /sys/kernel/mm/hugepages/hugepages-*/nr_hugepages /sys/kernel/mm/hugepages/hugepages-*/free_hugepages; do mount --bind /mnt/zero $f; done',
  );
  try {
    const { code, checks } = await doctor(ns);
    expect(code).toBe(3);
    expect(checks.get('hugepages')).toEqual({
      name: 'hugepages',
      status: 'fail',
      detail: 'no hugepages are reserved',
      fix: 'echo 512 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages',
    });
    expect(checks.get('free hugepages')).toMatchObject({ status: 'fail', fix: 'echo 512 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages' });
  } finally {
    await ns.close();
  }
  expect(Number(fs.readFileSync('/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages', 'utf8'))).toBeGreaterThan(0);
});
