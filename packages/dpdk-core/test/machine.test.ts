/** Where DPDK keeps a prefix's runtime files, by the rule of 22.11's eal_create_runtime_dir (no EAL needed). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cleanPrefix } from '../src';
import { runtimeDirFor } from '../src/machine';

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
