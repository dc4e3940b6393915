/**
 * Plumbing for the dpdk-mp suites: the command itself as a process, bare
 * primaries, and private mount namespaces for what must not touch the
 * machine (hugetlbfs unmounted, leftover groups of its own).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ealArgs, startFixture, startProcess, type Fixture } from '@mp/test-kit';

export const APP = path.join(__dirname, '..');
export const BIN = path.join(APP, 'bin', 'dpdk-mp');
const PRIMARY = path.join(__dirname, 'fixtures', 'primary.ts');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs dpdk-mp (the built bin) to completion, in namespace `ns` if given. */
export async function dpdkMp(args: readonly string[], ns?: Namespace): Promise<Run> {
  const p = ns ? ns.start('dpdk-mp', [process.execPath, BIN, ...args]) : startProcess('dpdk-mp', process.execPath, [BIN, ...args]);
  const status = await p.waitForExit(60_000);
  return { code: status.code, stdout: p.stdout, stderr: p.stderr };
}

/** A bare primary of `prefix` (see fixtures/primary.ts), ready. */
export async function primary(prefix: string, extra: readonly string[] = []): Promise<Fixture> {
  const f = startFixture(PRIMARY, [...ealArgs(prefix, ['-l', '0', ...extra])]);
  await f.waitForLine(/^ready /, 30_000);
  return f;
}

/**
 * A private mount namespace held open by a process of its own: what is
 * mounted or unmounted in it is seen only by the processes started in it
 * (`start`, through nsenter, which joins it and execs the command, so the
 * Fixture's pid is the command's), never by the machine or other tests.
 * It goes away with its last process; close() ends the holder.
 */
export class Namespace {
  private constructor(private readonly holder: Fixture) {}

  /** `setup` runs as root inside the new namespace (mounts), before anything else starts in it. */
  static async create(setup: string): Promise<Namespace> {
    const holder = startProcess('namespace', 'unshare', ['--mount', '--propagation', 'private', 'bash', '-c', `set -e; ${setup}; echo ready; exec sleep 600`]);
    await holder.waitForLine(/^ready$/, 10_000);
    return new Namespace(holder);
  }

  start(label: string, argv: readonly string[], opts: { cwd?: string } = {}): Fixture {
    const wd = opts.cwd === undefined ? [] : [`--wd=${opts.cwd}`];
    return startProcess(label, 'nsenter', [`--mount=/proc/${this.holder.pid}/ns/mnt`, ...wd, '--', ...argv]);
  }

  /** A shell command's output inside the namespace. */
  sh(command: string): string {
    return execFileSync('nsenter', [`--mount=/proc/${this.holder.pid}/ns/mnt`, '--', 'bash', '-c', command], { encoding: 'utf8' });
  }

  /** A primary started inside the namespace (see fixtures/primary.ts). */
  startPrimary(prefix: string, extra: readonly string[] = []): Fixture {
    return this.start(`primary ${prefix}`, [process.execPath, '--import', require.resolve('tsx'), PRIMARY, ...ealArgs(prefix, ['-l', '0', ...extra])]);
  }

  /** The same, once ready. */
  async primary(prefix: string, extra: readonly string[] = []): Promise<Fixture> {
    const f = this.startPrimary(prefix, extra);
    await f.waitForLine(/^ready /, 30_000);
    return f;
  }

  async close(): Promise<void> {
    this.holder.kill('SIGKILL');
    await this.holder.exited;
  }
}
