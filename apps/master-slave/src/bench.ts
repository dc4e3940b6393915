/**
 * `pnpm bench`: recovery time of mp-l2fwd, from SIGKILL of a slave to packets
 * flowing again out of its output port (the master's `resumed` event), over
 * 20 kills on net_null ports; plus STOP/ACK latency and the supervisor's
 * group downtime. Prints medians and p90s.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

const KILLS = Number(process.env['KILLS'] ?? 20);
const BIN = path.join(__dirname, '..', 'bin', 'mp-l2fwd');

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length - 1) * p))] ?? NaN;
}

async function main(): Promise<void> {
  const prefix = `mp_l2fwd_bench_${process.pid}`;
  const child = spawn(
    BIN,
    [`--file-prefix=${prefix}`, '-m', '256', '--no-pci', '--log-level=warning', '--lcores=0@0,1@0,2@1', '--vdev=net_null0', '--vdev=net_null1', '--', '-p', '3', '-T', '0', '--json'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const events: Array<Record<string, unknown>> = [];
  let wake: (() => void) | null = null;
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    if (!line.startsWith('{')) return;
    events.push(JSON.parse(line) as Record<string, unknown>);
    wake?.();
  });
  const waitFor = async (event: string, n: number): Promise<Record<string, unknown>> => {
    for (;;) {
      const found = events.filter((e) => e['event'] === event);
      if (found.length >= n) return found[n - 1] as Record<string, unknown>;
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 50);
      });
    }
  };
  await waitFor('started', 1);
  const resume: number[] = [];
  const ack: number[] = [];
  const downtime: number[] = [];
  for (let k = 1; k <= KILLS; k++) {
    const victim = k % 2 ? 'slave0' : 'slave1';
    const ready = events.filter((e) => e['event'] === 'ready' && e['name'] === victim);
    process.kill((ready[ready.length - 1] as Record<string, unknown>)['pid'] as number, 'SIGKILL');
    resume.push((await waitFor('resumed', k))['resumeMs'] as number);
    ack.push((await waitFor('stop', k))['ackMs'] as number);
    downtime.push((await waitFor('recovered', k))['downtimeMs'] as number);
  }
  child.kill('SIGINT');
  const done = await waitFor('shutdown', 1);
  const line = (label: string, v: number[]): string => `${label.padEnd(38)} median ${String(pct(v, 0.5)).padStart(5)} ms   p90 ${String(pct(v, 0.9)).padStart(5)} ms   max ${String(Math.max(...v)).padStart(5)} ms`;
  process.stdout.write(
    [
      `mp-l2fwd recovery over ${KILLS} SIGKILLs (net_null0<->net_null1, slaves on lcores 1@0, 2@1)`,
      line('kill -> traffic resumed on its port', resume),
      line('kill -> group restarted (supervisor)', downtime),
      line('STOP -> ACK from the busy pair', ack),
      `buffers lost with the killed slaves: ${String(done['unaccountedBuffers'])}`,
    ].join('\n') + '\n',
  );
}

void main();
