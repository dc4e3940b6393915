/**
 * Ctrl-C of the main job, as a person does it: the documented command typed
 * into a real terminal (tmux), Ctrl-C once the clients forward. It must end
 * with exit status 0, no error line (pnpm's ELIFECYCLE included), no word
 * about the demo's own clients, and nothing left in /var/run/dpdk or the
 * hugepage mount.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { leftovers, requireHugepages } from '@mp/test-kit';

const ROOT = path.join(__dirname, '..', '..', '..');

beforeAll(() => {
  requireHugepages();
  execFileSync('tmux', ['-V']);
});

/** A tmux server of this test's own (-L), so nothing touches anyone else's sessions. */
class Terminal {
  readonly socket = `mpt-ctrlc-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  readonly log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mpt-ctrlc-')), 'terminal.log');

  constructor() {
    this.tmux('new-session', '-d', '-s', 'main', '-x', '160', '-y', '50', '-c', ROOT, 'bash --noprofile --norc');
    this.tmux('pipe-pane', '-o', '-t', 'main', `cat >> ${this.log}`);
  }

  tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
  }

  type(text: string): void {
    this.tmux('send-keys', '-t', 'main', text, 'Enter');
  }

  output(): string {
    return fs.existsSync(this.log) ? fs.readFileSync(this.log, 'utf8') : '';
  }

  async until(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.output().match(pattern);
      if (m) return m;
      if (Date.now() > deadline) throw new Error(`terminal never showed ${pattern}; it shows:\n${this.output().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** The pid of the process running the demo: a descendant of the terminal's shell (through ./dev, or pnpm and its threads). */
  demoPid(): number | undefined {
    const shell = Number(this.tmux('list-panes', '-t', 'main', '-F', '#{pane_pid}').trim());
    const parent = new Map<number, number>();
    for (const d of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
      try {
        const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
        parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      } catch {
        // gone meanwhile
      }
    }
    const descends = (pid: number): boolean => {
      for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === shell) return true;
      return false;
    };
    return [...parent.keys()].find((pid) => {
      try {
        return descends(pid) && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('dist/demo.js');
      } catch {
        return false;
      }
    });
  }

  close(): void {
    this.tmux('kill-server');
    fs.rmSync(path.dirname(this.log), { recursive: true, force: true });
  }
}

it.each([['./dev start'], ['pnpm start'], ['pnpm --filter client-server start']])('%s, then Ctrl-C: exit 0, no error line, nothing left behind', async (command) => {
  const term = new Terminal();
  try {
    term.type(`${command}; echo "EXIT=$?"`);
    // Both clients forward: the stats screen shows a transmit count above 0 for each.
    await term.until(/Client {2}0 - rx: +\d+, rx_drop: +\d+\s+tx: +[1-9]\d*,[^]*Client {2}1 - rx: +\d+, rx_drop: +\d+\s+tx: +[1-9]\d*,/, 90_000);
    const pid = term.demoPid();
    expect(pid).toBeDefined();
    term.tmux('send-keys', '-t', 'main', 'C-c');
    const exit = await term.until(/EXIT=(\d+)/, 60_000);
    const text = term.output();
    expect(exit[1]).toBe('0');
    // SIGINT from the terminal, or SIGTERM first when pnpm forwards the interrupt to its script as SIGTERM.
    expect(text).toMatch(/stopping: SIG(INT|TERM) received[^]*server stopped/);
    expect(text).not.toMatch(/ELIFECYCLE|ERR_PNPM|Command failed|secondaries still attached|exited \(|Error|error:/);
    expect(fs.existsSync(`/proc/${pid}`)).toBe(false);
    expect(leftovers(`mp-demo-${pid}`)).toEqual([]);
  } finally {
    // Closing the terminal hangs the demo up; it stops cleanly on SIGHUP too, and the test waits for it.
    const pid = term.demoPid();
    term.close();
    for (let waited = 0; pid !== undefined && fs.existsSync(`/proc/${pid}`) && waited < 30_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
  }
});
