/**
 * What mp-l2fwd says about its slaves: the supervisor's events as
 * `[recovery]` lines (or JSON lines with --json), and, after each recovery,
 * when traffic flows again through the dead slave's output ports.
 */
import type { LcoreAllocator } from '@mp/lcore-alloc';
import type { Supervisor } from '@mp/recovery';
import { statIndex } from './shared';

export interface ReportTarget {
  supervisor: Supervisor;
  /** Each slave's routes, to watch its output ports after it died. */
  routesOf(name: string): ReadonlyArray<{ rx: number; tx: number }>;
  /** The port statistics zone's u64 words. */
  stats: BigUint64Array;
  allocator: LcoreAllocator | undefined;
  json: boolean;
  out: (line: string) => void;
}

/** The leased lcore ids, for the JSON events (undefined without --float). */
export function leasedIds(allocator: LcoreAllocator | undefined): number[] | undefined {
  return allocator?.leases().map((l) => l.id);
}

/**
 * Wires the supervisor's events to the output. Returns what stops the
 * watches for resumed traffic, which read the stats zone: called before the
 * zone is released.
 */
export function reportRecovery(r: ReportTarget): () => void {
  const polls = new Set<NodeJS.Timeout>();
  const { supervisor, stats, json, out } = r;
  const emit = (event: string, text: string, data: Record<string, unknown>): void => {
    out(json ? JSON.stringify({ event, ...data }) : `[recovery] ${text}`);
  };
  const sent = (port: number): number => Number(stats[statIndex(port, 'tx')]);
  const deaths = new Map<string, { at: number; tx: Array<{ port: number; before: number }> }>();
  supervisor.on('exit', (e) => {
    if (e.reason === 'stopped') return;
    deaths.set(e.name, { at: e.at, tx: r.routesOf(e.name).map((route) => ({ port: route.tx, before: sent(route.tx) })) });
    emit('exit', `${e.name} (pid ${e.pid}, lcore ${e.lcore}) ${e.reason}: ${e.signal ? `signal ${e.signal}` : `exit code ${e.code}`}`, { ...e });
  });
  supervisor.on('hang', (e) => emit('hang', `${e.name} (pid ${e.pid}) hung: no heartbeat for ${e.silentMs} ms, killing it`, { ...e }));
  supervisor.on('starved', (e) =>
    emit('starved', `${e.name} (pid ${e.pid}) gets no CPU: no heartbeat for ${e.silentMs} ms while runnable; not killed (the machine is crowded)`, { ...e }),
  );
  supervisor.on('stop', (e) => emit('stop', `${e.mode === 'pause' ? 'paused' : 'stopped'} ${e.name} (pid ${e.pid}): ${e.outcome} in ${e.ackMs} ms`, { ...e }));
  supervisor.on('resume', (e) => emit('resume', `resumed ${e.name} (pid ${e.pid}): ${e.outcome} in ${e.ackMs} ms`, { ...e }));
  supervisor.on('standby-ready', (e) => {
    if (json) out(JSON.stringify({ event: 'standby-ready', ...e, leases: leasedIds(r.allocator) }));
  });
  supervisor.on('standby-exit', (e) =>
    emit('standby-exit', `standby of ${e.name} (pid ${e.pid}) ended: ${e.reason}${e.respawnInMs !== null ? `, another in ${e.respawnInMs} ms` : ''}`, { ...e }),
  );
  supervisor.on('standby-error', (e) => emit('standby-error', `no standby for ${e.name}: ${e.error.message}`, { name: e.name, message: e.error.message }));
  supervisor.on('reclaim', (e) =>
    emit(
      'reclaim',
      `reclaimed ${e.name} (lcore ${e.lcore}): ${e.resources.map((res) => `${res.label} ${JSON.stringify(res.detail ?? {})}`).join('; ')}; unaccounted buffers ${e.unaccountedBuffers}`,
      { name: e.name, lcore: e.lcore, unaccountedBuffers: e.unaccountedBuffers, resources: e.resources },
    ),
  );
  supervisor.on('reclaim-error', (e) => emit('reclaim-error', `reclaim of ${e.name} (${e.label}) failed: ${e.error.message}`, { name: e.name, label: e.label, message: e.error.message }));
  supervisor.on('gave-up', (e) => emit('gave-up', `gave up on ${e.name}: ${e.reason}`, { name: e.name, reason: e.reason }));
  supervisor.on('ready', (e) => {
    if (json) out(JSON.stringify({ event: 'ready', ...e }));
  });
  supervisor.on('recovered', (e) => {
    const cold = e.restarted.filter((n) => !e.promoted.includes(n));
    const how = [
      e.promoted.length > 0 ? `promoted the standby of ${e.promoted.join(', ')}` : '',
      cold.length > 0 ? `restarted ${cold.join(', ')}` : '',
      e.resumed.length > 0 ? `resumed ${e.resumed.join(', ')}` : '',
    ].filter((s) => s !== '');
    emit('recovered', `${e.crashed.join(', ')} recovered: ${how.join('; ')} in ${e.downtimeMs} ms`, { ...e, leases: leasedIds(r.allocator) });
    for (const name of e.crashed) {
      const death = deaths.get(name);
      if (!death) continue;
      deaths.delete(name);
      const readyAt = Date.now();
      const poll = setInterval(() => {
        const moved = death.tx.find((t) => sent(t.port) > t.before);
        if (moved || Date.now() - readyAt > 10_000) {
          clearInterval(poll);
          polls.delete(poll);
        }
        if (moved) {
          emit('resumed', `traffic resumed through port ${moved.port} ${Date.now() - death.at} ms after ${name} died`, {
            name,
            port: moved.port,
            resumeMs: Date.now() - death.at,
          });
        }
      }, 1);
      polls.add(poll);
    }
  });
  return () => {
    for (const poll of polls) clearInterval(poll);
    polls.clear();
  };
}
