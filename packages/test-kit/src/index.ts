/**
 * Helpers for jest suites that run real DPDK in child processes: EAL is once
 * per process and jest reuses workers, so every EAL runs in a fixture process
 * that the test spawns, with its own --file-prefix.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const TSX = require.resolve('tsx');
const RUNTIME_BASE = '/var/run/dpdk';

let prefixCounter = 0;
const usedPrefixes: string[] = [];

/** A --file-prefix no other test (or test run) uses: tag, pid, counter. */
export function uniquePrefix(tag: string): string {
  prefixCounter += 1;
  const prefix = `mpt-${tag}-${process.pid}-${prefixCounter}`;
  usedPrefixes.push(prefix);
  return prefix;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** How long after a child's exit its output may still arrive, when its stream has not ended. */
const OUTPUT_AFTER_EXIT_MS = 2000;

/** A process a test started, with its output collected line by line. */
export class Fixture {
  readonly child: ChildProcess;
  readonly stdoutLines: string[] = [];
  readonly stderrLines: string[] = [];
  readonly exited: Promise<ExitStatus>;
  /** Date.now() when the process exited (0 while it runs). */
  exitedAt = 0;
  private waiters: Array<() => void> = [];
  /** The line each stream is writing, not ended by a newline yet. */
  private readonly unfinished = { stdout: '', stderr: '' };
  /** Whether each stream has ended: Node reports a child's exit before the last of its output at times. */
  private readonly ended = { stdout: false, stderr: false };
  private status: ExitStatus | undefined;

  constructor(
    readonly label: string,
    command: string,
    args: readonly string[],
    opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
  ) {
    this.child = spawn(command, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...opts.env },
      ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
    });
    live.add(this);
    this.collect(this.child.stdout!, this.stdoutLines, 'stdout');
    this.collect(this.child.stderr!, this.stderrLines, 'stderr');
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exitedAt = Date.now();
        this.status = { code, signal };
        live.delete(this);
        this.wake();
        resolve(this.status);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get stdout(): string {
    return this.stdoutLines.join('\n');
  }

  get stderr(): string {
    return this.stderrLines.join('\n');
  }

  /** The exit status, or undefined while the process runs. */
  get exitStatus(): ExitStatus | undefined {
    return this.status;
  }

  private collect(stream: NodeJS.ReadableStream, lines: string[], name: 'stdout' | 'stderr'): void {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (this.unfinished[name] + chunk).split('\n');
      this.unfinished[name] = parts.pop() ?? '';
      lines.push(...parts);
      this.wake();
    });
    stream.on('end', () => {
      if (this.unfinished[name] !== '') lines.push(this.unfinished[name]);
      this.unfinished[name] = '';
      this.ended[name] = true;
      this.wake();
    });
  }

  /**
   * Whether everything the exited process printed on `streams` is in. The
   * 'exit' event can come before the last of its output, so a stream's end
   * says so; a process it left holding the pipe can keep the stream open,
   * so at most OUTPUT_AFTER_EXIT_MS after the exit.
   */
  private outputComplete(streams: Array<'stdout' | 'stderr'>): boolean {
    return this.status !== undefined && (streams.every((name) => this.ended[name]) || Date.now() >= this.exitedAt + OUTPUT_AFTER_EXIT_MS);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async idle(deadline: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /**
   * Waits for a line matching `pattern` (on stdout unless told; DPDK logs go
   * to stderr), looking from line `from` on, and with `unfinished` at the
   * line being written too (a progress line without its newline); fails with
   * the output if the process exits first.
   */
  async waitForLine(
    pattern: RegExp,
    timeoutMs = 20_000,
    opts: { from?: number; stream?: 'stdout' | 'stderr'; unfinished?: boolean } = {},
  ): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    const stream = opts.stream ?? 'stdout';
    const lines = stream === 'stderr' ? this.stderrLines : this.stdoutLines;
    for (let seen = opts.from ?? 0; ; ) {
      for (; seen < lines.length; seen++) {
        const m = (lines[seen] as string).match(pattern);
        if (m) return m;
      }
      // A progress or prompt line that no newline has ended yet, when asked to look at it too.
      const current = opts.unfinished === true ? this.unfinished[stream].match(pattern) : null;
      if (current) return current;
      if (this.outputComplete([stream])) {
        throw new Error(`${this.label} exited (${JSON.stringify(this.status)}) before printing ${pattern}\n${this.describe()}`);
      }
      if (Date.now() >= deadline) throw new Error(`${this.label}: timed out waiting for ${pattern}\n${this.describe()}`);
      await this.idle(this.status === undefined ? deadline : Math.min(deadline, this.exitedAt + OUTPUT_AFTER_EXIT_MS));
    }
  }

  /** Parses the JSON object printed on the first stdout line starting with `tag `. */
  async waitForJson<T = Record<string, unknown>>(tag: string, timeoutMs?: number): Promise<T> {
    const m = await this.waitForLine(new RegExp(`^${tag} (.*)$`), timeoutMs);
    return JSON.parse(m[1] as string) as T;
  }

  send(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  /** Sends a command line and waits for the `TAG {json}` line printed after it (not an earlier one). */
  async request<T = Record<string, unknown>>(line: string, tag: string, timeoutMs?: number): Promise<T> {
    const from = this.stdoutLines.length;
    this.send(line);
    const m = await this.waitForLine(new RegExp(`^${tag} (.*)$`), timeoutMs, { from });
    return JSON.parse(m[1] as string) as T;
  }

  /**
   * Waits for exit, and then for stdout and stderr to end, so that `stdout`
   * and `stderr` hold everything it printed (at most OUTPUT_AFTER_EXIT_MS
   * more, for a process it left holding a pipe); kills with SIGKILL (and
   * fails) if the exit takes longer than the timeout.
   */
  async waitForExit(timeoutMs = 20_000): Promise<ExitStatus> {
    const deadline = Date.now() + timeoutMs;
    while (this.status === undefined) {
      if (Date.now() >= deadline) {
        this.kill('SIGKILL');
        await this.exited;
        throw new Error(`${this.label} did not exit within ${timeoutMs} ms\n${this.describe()}`);
      }
      await this.idle(deadline);
    }
    while (!this.outputComplete(['stdout', 'stderr'])) await this.idle(this.exitedAt + OUTPUT_AFTER_EXIT_MS);
    return this.status;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    // Through the ChildProcess, which knows once the pid is reaped and will
    // not signal a process that reused it.
    if (this.status === undefined) this.child.kill(signal);
  }

  /** The last lines of both streams, for failure messages. */
  describe(lines = 60): string {
    const tail = (l: string[]): string => l.slice(-lines).join('\n');
    return `--- ${this.label} stdout ---\n${tail(this.stdoutLines)}\n--- ${this.label} stderr ---\n${tail(this.stderrLines)}`;
  }
}

const live = new Set<Fixture>();

/** Starts a TypeScript fixture script as its own Node process. */
export function startFixture(script: string, args: string[] = [], opts?: { env?: NodeJS.ProcessEnv }): Fixture {
  return new Fixture(path.basename(script), process.execPath, ['--import', TSX, script, ...args], {
    cwd: path.dirname(script),
    ...opts,
  });
}

/** Starts any program (a compiled bin, a C binary, a tool) as a tracked process. */
export function startProcess(
  label: string,
  command: string,
  args: readonly string[],
  opts?: { env?: NodeJS.ProcessEnv; cwd?: string },
): Fixture {
  return new Fixture(label, command, args, opts);
}

/** Runs a fixture to completion and returns its status and output. */
export async function runFixture(
  script: string,
  args: string[] = [],
  opts?: { env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<ExitStatus & { stdout: string; stderr: string; fixture: Fixture }> {
  const f = startFixture(script, args, opts);
  const status = await f.waitForExit(opts?.timeoutMs);
  return { ...status, stdout: f.stdout, stderr: f.stderr, fixture: f };
}

/** SIGKILLs every fixture this test file started that is still running (by PID). */
async function killAllFixtures(): Promise<void> {
  const running = [...live];
  for (const f of running) f.kill('SIGKILL');
  await Promise.all(running.map((f) => f.exited));
}

/**
 * For a suite's afterAll: stops fixtures still running, then throws if any
 * prefix this suite used left a runtime directory or hugepage file behind.
 */
export async function assertCleanTeardown(): Promise<void> {
  const running = [...live].map((f) => `${f.label} (pid ${f.pid})`);
  await killAllFixtures();
  const left = usedPrefixes.flatMap((p) => leftovers(p));
  const problems = [
    ...(running.length > 0 ? [`fixtures still running at teardown: ${running.join(', ')}`] : []),
    ...(left.length > 0 ? [`left behind: ${left.join(', ')}`] : []),
  ];
  for (const p of usedPrefixes) removeLeftovers(p);
  if (problems.length > 0) throw new Error(problems.join('\n'));
}

/** What a file prefix left behind: its runtime directory and hugepage files. */
export function leftovers(prefix: string): string[] {
  const found: string[] = [];
  const runtime = path.join(RUNTIME_BASE, prefix);
  if (fs.existsSync(runtime)) found.push(runtime);
  // <prefix>map_<n> exactly: prefix "x" must not claim the files of prefix "xmap_y" ("xmap_ymap_0").
  const ours = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}map_\\d+$`);
  for (const dir of hugepageMounts()) {
    for (const f of safeReaddir(dir)) {
      if (ours.test(f)) found.push(path.join(dir, f));
    }
  }
  return found;
}

/**
 * Removes what a prefix left behind. Only for tests that kill a primary on
 * purpose (a killed process cannot clean up); everything else must leave nothing.
 */
export function removeLeftovers(prefix: string): void {
  for (const p of leftovers(prefix)) fs.rmSync(p, { recursive: true, force: true });
}

function hugepageMounts(): string[] {
  return fs
    .readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[2] === 'hugetlbfs')
    .map((f) => f[1] as string);
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * Throws (with the fix) unless hugepages are reserved and mounted: a suite
 * that needs DPDK must fail loudly, never pass without running.
 */
export function requireHugepages(): void {
  const free = Number(/HugePages_Free:\s+(\d+)/.exec(fs.readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0);
  const mounts = hugepageMounts();
  if (free < 64 || mounts.length === 0) {
    throw new Error(
      `DPDK tests need at least 64 free 2 MiB hugepages and a hugetlbfs mount (free: ${free}, mounts: ${mounts.join(',') || 'none'}); run ./dev test, which sets them up`,
    );
  }
}

/**
 * Compiles a C fixture against libdpdk (pkg-config) once per test process
 * and returns the binary's path; the binaries go when the process exits.
 */
export function compileDpdkC(source: string): string {
  const built = compiled.get(source);
  if (built !== undefined) return built;
  compiledDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'dpdk-mp-c-'));
  const bin = path.join(compiledDir, `${path.basename(source, '.c')}-${compiled.size}`);
  const flags = (what: string): string[] => execFileSync('pkg-config', [what, 'libdpdk'], { encoding: 'utf8' }).trim().split(/\s+/);
  execFileSync('gcc', ['-O2', '-o', bin, source, ...flags('--cflags'), ...flags('--libs')]);
  compiled.set(source, bin);
  return bin;
}

const compiled = new Map<string, string>();
let compiledDir: string | undefined;
process.on('exit', () => {
  if (compiledDir !== undefined) fs.rmSync(compiledDir, { recursive: true, force: true });
});

/** Common EAL args for a fixture: small memory, no PCI, quiet logs. */
export function ealArgs(prefix: string, extra: string[] = []): string[] {
  return [`--file-prefix=${prefix}`, '-m', '64', '--no-pci', '--log-level=warning', ...extra];
}

export { codeOf, emit, errorInfo, errorTable, fixtureArgs, onCommands, outcomeOf, type ErrorInfo, type Outcome } from './in-fixture';
export { makeFrames, readPcap, udpFlowFrames, writePcap } from './pcap';
export { Capture, Veths, exchange, expectedFrames, frameDiff, frameFlow, frameSeq, vethTag, type FrameOptions } from './veth';
export { freeTcpPort, parseExposition, scrape, type Exposition } from './prometheus';
export { median } from './median';
