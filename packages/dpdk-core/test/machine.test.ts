/** Where DPDK keeps a prefix's runtime files, by the rule of 22.11's eal_create_runtime_dir (no EAL needed). */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cleanPrefix } from '../src';
import { runtimeDirFor } from '../src/machine';
import { native } from '../src/native';

test.each([
  [{ RUNTIME_DIRECTORY: '/run/unit', XDG_RUNTIME_DIR: '/run/user/1000' }, 1000, '/run/unit/dpdk/p'],
  [{ RUNTIME_DIRECTORY: '/run/unit' }, 0, '/run/unit/dpdk/p'],
  [{ XDG_RUNTIME_DIR: '/run/user/1000' }, 0, '/var/run/dpdk/p'],
  [{ XDG_RUNTIME_DIR: '/run/user/1000' }, 1000, '/run/user/1000/dpdk/p'],
  [{}, 1000, '/tmp/dpdk/p'],
  // As EAL joins them: never a path relative to the current directory.
  [{ RUNTIME_DIRECTORY: '' }, 0, '/dpdk/p'],
  [{ XDG_RUNTIME_DIR: '' }, 1000, '/dpdk/p'],
])('env %j, uid %d: %s', (env, uid, dir) => {
  expect(runtimeDirFor('p', env, uid)).toBe(dir);
});

describe('cleanPrefix', () => {
  const saved = process.env['RUNTIME_DIRECTORY'];
  let base = '';
  beforeEach(() => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'mpt-clean-'));
    process.env['RUNTIME_DIRECTORY'] = base;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env['RUNTIME_DIRECTORY'];
    else process.env['RUNTIME_DIRECTORY'] = saved;
    fs.rmSync(base, { recursive: true, force: true });
  });
  const old = (p: string): void => fs.utimesSync(p, new Date(0), new Date(0));

  it('removes a dead group\'s runtime directory, files only', () => {
    const dir = path.join(base, 'dpdk', 'deadgroup');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'fbarray_memseg-2048k-0-0'), '');
    old(dir);
    expect(cleanPrefix('deadgroup')).toEqual([dir]);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('follows no symlink: a dpdk directory that is a symlink (as another user could make under /tmp) is refused, its target untouched', () => {
    const victim = path.join(base, 'victim');
    fs.mkdirSync(path.join(victim, 'keep'), { recursive: true });
    fs.writeFileSync(path.join(victim, 'keep', 'f'), 'mine');
    fs.symlinkSync(victim, path.join(base, 'dpdk'));
    old(path.join(victim, 'keep'));
    expect(() => cleanPrefix('keep')).toThrow(expect.objectContaining({ code: 'EPERM', message: expect.stringMatching(/is not a directory of this user's or root's/) }));
    expect(fs.readFileSync(path.join(victim, 'keep', 'f'), 'utf8')).toBe('mine');
  });

  it('leaves a directory that holds more than EAL puts there, saying what', () => {
    const dir = path.join(base, 'dpdk', 'oddgroup');
    fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
    old(dir);
    expect(() => cleanPrefix('oddgroup')).toThrow(expect.objectContaining({ code: 'ENOTEMPTY', message: expect.stringMatching(/holds more than EAL puts there \(sub\)/) }));
    expect(fs.existsSync(path.join(dir, 'sub'))).toBe(true);
  });
});

describe('removing what a dead group left, against a process that starts meanwhile', () => {
  let dir = '';
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mpt-race-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A child holding a lock on `file` until killed, once it says so. */
  async function holder(argv: string[]): Promise<ChildProcess> {
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
    return child;
  }

  it('a hugepage file some process maps (shared flock) is not unlinked; an unlocked one is', async () => {
    const file = path.join(dir, 'xmap_0');
    fs.writeFileSync(file, '');
    const flock = `import fcntl,time; f=open(${JSON.stringify(file)}); fcntl.flock(f, fcntl.LOCK_SH); print('held', flush=True); time.sleep(30)`;
    const child = await holder(['python3', '-c', flock]);
    try {
      expect(native.unlinkIfUnlocked(file)).toBe(false);
      expect(fs.existsSync(file)).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((r) => child.once('exit', r));
    expect(native.unlinkIfUnlocked(file)).toBe(true);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('a runtime directory whose config a primary locks (fcntl) is refused with EBUSY, left whole', async () => {
    const config = path.join(dir, 'config');
    fs.writeFileSync(config, '');
    fs.writeFileSync(path.join(dir, 'mp_socket'), '');
    const lock = `import fcntl,time; f=open(${JSON.stringify(config)},'r+'); fcntl.lockf(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(30)`;
    const child = await holder(['python3', '-c', lock]);
    try {
      expect(() => native.removeDeadRuntimeDir(dir)).toThrow(expect.objectContaining({ code: 'EBUSY' }));
      expect(fs.readdirSync(dir).sort()).toEqual(['config', 'mp_socket']);
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((r) => child.once('exit', r));
    expect(native.removeDeadRuntimeDir(dir)).toEqual([]);
    expect(fs.existsSync(dir)).toBe(false);
  });
});
