/**
 * Whether a program refused something clearly: it exited by itself with the
 * usage (2) or environment (3) code of @mp/dpdk-core/cli, said why on
 * stderr in its own words (not only DPDK's log lines), with no stack trace,
 * and the message points at a fix (names an option or the usage, or says
 * what to do). Anything else is "unclear": no message, a trace, a crash, a
 * signal, exit 1 (a failure that should not happen) or a message with no hint.
 */
import { EXIT } from '@mp/dpdk-core/cli';
import type { Fixture } from '@mp/test-kit';
import type { FaultRow } from './fault';

export interface Verdict {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** The program's own message: stderr without DPDK's log lines. */
  message: string;
  clear: boolean;
  /** Why it is unclear (empty when clear). */
  why: string;
  summary: string;
}

/** DPDK's own log lines on stderr (EAL, drivers, telemetry), which are no message of the program's. */
const DPDK_LOG = /^(EAL|TELEMETRY|USER1|PMD|ETHDEV|MBUF|RING|MEMPOOL|vdev|net_\w+|rte_\w+):|^\s*$/;
const TRACE = /^\s+at .+(:\d+:\d+\)?|\(native\)|\(<anonymous>\))$|^node:internal|^(?:Uncaught )?\w*Error: .*\n\s+at /m;
/** What a message that names its fix has: an option, the usage, or what to do. */
const HINT =
  /(^|[\s'"(`])--?[a-zA-Z]|usage|\d+-\d+|\b(use|give|add|drop|start|run|set|remove|pick|choose|try|install|mount|free|stop|wait|needs?|is required|e\.g\.|at least|at most|instead|only)\b/i;

export async function judgeExit(f: Fixture, timeoutMs = 20_000): Promise<Verdict> {
  const timedOut = await Promise.race([f.exited.then(() => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(true), timeoutMs))]);
  if (timedOut) {
    // It took what it should have refused and runs: stop it as an operator would, so it cleans up.
    f.kill('SIGINT');
    await f.waitForExit(20_000).catch(() => undefined);
  }
  const status = f.exitStatus;
  const code = status?.code ?? null;
  const signal = status?.signal ?? null;
  const message = f.stderrLines.filter((l) => !DPDK_LOG.test(l)).join('\n').trim();
  const why = timedOut
    ? `did not exit within ${timeoutMs} ms: it ran with what it should have refused`
    : signal !== null
      ? `ended by ${signal}`
      : TRACE.test(f.stderr) || TRACE.test(f.stdout)
        ? 'printed a stack trace'
        : code === 0
          ? 'exited 0: accepted what it should refuse'
          : code !== 2 && code !== 3
            ? `exit code ${code} (2: usage, 3: environment)`
            : message === ''
              ? 'no message of its own on stderr'
              : !HINT.test(message)
                ? 'the message names no fix'
                : '';
  const first = (message.split('\n')[0] ?? '').slice(0, 140);
  return {
    code,
    signal,
    stdout: f.stdout,
    stderr: f.stderr,
    message,
    clear: why === '',
    why,
    summary: `${signal ?? `code ${code}`}${first === '' ? '' : `: "${first}"`}${why === '' ? '' : ` (unclear: ${why})`}`,
  };
}

/** One process refused beside a running group: recovered when it is refused clearly, as an environment error, and the group forwards on. */
export function scoreRefusal(r: FaultRow, who: string, verdict: Verdict, undisturbed: boolean): FaultRow {
  r.injected = 1;
  r.unclear = verdict.clear ? 0 : 1;
  if (verdict.clear && verdict.code === EXIT.environment && undisturbed) r.recovered = 1;
  r.notes.push(`${who} exited ${verdict.summary}; the running group ${undisturbed ? 'kept forwarding' : 'was disturbed'}`);
  return r;
}
