/** Where DPDK keeps a prefix's runtime files, by the rule of 22.11's eal_create_runtime_dir (no EAL needed). */
import { runtimeDirFor } from '../src/machine';

test.each([
  [{ RUNTIME_DIRECTORY: '/run/unit', XDG_RUNTIME_DIR: '/run/user/1000' }, 1000, '/run/unit/dpdk/p'],
  [{ RUNTIME_DIRECTORY: '/run/unit' }, 0, '/run/unit/dpdk/p'],
  [{ XDG_RUNTIME_DIR: '/run/user/1000' }, 0, '/var/run/dpdk/p'],
  [{ XDG_RUNTIME_DIR: '/run/user/1000' }, 1000, '/run/user/1000/dpdk/p'],
  [{}, 1000, '/tmp/dpdk/p'],
])('env %j, uid %d: %s', (env, uid, dir) => {
  expect(runtimeDirFor('p', env, uid)).toBe(dir);
});
