/** The table of a run, on the terminal and in RELIABILITY.md. */
import fs from 'node:fs';
import os from 'node:os';
import type { FaultRow } from './fault';

const cell = (v: number | null): string => (v === null ? '–' : String(v));

function lostCell(r: FaultRow): string {
  if (r.lost === null) return '–';
  return r.inFlight === null ? String(r.lost) : `${r.lost} (≤ ${r.inFlight})`;
}

function leakCell(r: FaultRow): string {
  return r.leaked === null || !r.discarded ? cell(r.leaked) : `${r.leaked} (${r.discarded} discarded)`;
}

/** The columns every row has, as text cells. */
function cells(r: FaultRow): string[] {
  return [r.app, r.fault, String(r.injected), String(r.recovered), lostCell(r), leakCell(r), cell(r.freedTwice), String(r.unclear)];
}

const HEAD = ['app', 'fault', 'injected', 'recovered', 'packets lost (≤ in flight)', 'buffers leaked', 'freed twice', 'unclear errors'];

export function terminalTable(rows: readonly FaultRow[]): string {
  const all = [HEAD, ...rows.map(cells)];
  const widths = HEAD.map((_, i) => Math.max(...all.map((r) => (r[i] as string).length)));
  return all.map((r) => r.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd()).join('\n');
}

export function markdownTable(rows: readonly FaultRow[]): string {
  const line = (r: readonly string[]): string => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(HEAD), line(HEAD.map(() => '---')), ...rows.map((r) => line(cells(r)))].join('\n');
}

export function cpuModel(): string {
  const m = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
  return `${m?.[1]?.trim() ?? 'unknown CPU'}, ${os.cpus().length} CPUs`;
}

/** Where a row fails what the suite promises: recovered, nothing leaked or freed twice, no unclear error, no loss beyond what was in flight. */
export function problems(r: FaultRow): string[] {
  const p: string[] = [];
  if (r.injected === 0) p.push('never injected');
  if ((r.leaked ?? 0) !== 0) p.push(`${r.leaked} buffers leaked${(r.discarded ?? 0) > 0 ? ` (${r.discarded} discarded by the pool repairs)` : ''}`);
  if ((r.freedTwice ?? 0) !== 0) p.push(`${r.freedTwice} freed twice`);
  if (r.unclear !== 0) p.push(`${r.unclear} unclear errors`);
  if (r.lost !== null && r.inFlight !== null && r.lost > r.inFlight) p.push(`${r.lost} packets lost, more than the ${r.inFlight} in flight`);
  if (r.recovered < r.injected) p.push(`recovered ${r.recovered} of ${r.injected}`);
  return p;
}

export function reliabilityMarkdown(rows: readonly FaultRow[], command: string, startedAt: Date, seconds: number): string {
  const notes = rows.map((r) => `- **${r.app}, ${r.fault}**: ${r.notes.join('; ') || '–'}${problems(r).length > 0 ? ` **Failing: ${problems(r).join(', ')}.**` : ''}`);
  return `# Reliability

What the fault-injection suite measured on this repository: both apps run
under traffic (\`net_null\` ports, \`net_pcap\` over a crafted pcap file for
malformed frames), each fault is injected into its own group (its own
\`--file-prefix\`), and the group is checked for recovery, then stopped in order
and audited. Produced by \`pnpm faults\` (\`packages/faults\`); do not edit the
table by hand, run the command again.

- **Command:** \`${command}\`
- **Date:** ${startedAt.toISOString().replace(/\.\d+Z$/, 'Z')} (${seconds} s)
- **CPU:** ${cpuModel()}

${markdownTable(rows)}

**Columns.** *injected*: times the fault was injected (for bad command lines,
one per command line). *recovered*: times the group came back (the criterion
of each fault is in its note: a restarted client or slave forwards again, a
stopped one forwards after SIGCONT, a refused process exits with a clear
error while the group forwards on). *packets lost*: packets the ports
received that no counter shows sent, dropped or still queued, and in
brackets what was in flight at the faults: what each killed process can
hold between its input and the wire (its packet vector and its TX buffers);
\`–\` where no counters compare. *buffers leaked* and
*freed twice*: the one-owner audit of each pool at shutdown (\`auditMempool\`:
every buffer in the pool's ring or a cache exactly once), after the slaves
or clients stopped, and in brackets the buffers the pool repairs said they
discarded; must be 0. *unclear errors*: a refusal with no message
of the program's own, a stack trace, a crash, a signal, exit code 1 or a
message that names no fix; must be 0.

## What each fault did in this run

${notes.join('\n')}
`;
}
