/**
 * The processes attached to mp-server that it asks to stop before it shuts
 * down (the C server leaves its clients to fail): TS clients, remembered as
 * they register, and warm standbys (`mp-client --standby`). Other secondaries
 * (C clients, DPDK tools) cannot be asked and are named on stderr.
 */
import { liveSecondaries, ownerAlive, processArgv } from '@mp/dpdk-core';
import type { Ownership } from '@mp/mp-ring';
import type { ClientRegistry } from './registry';
import { MAX_CLIENTS } from './shared';

/** How long the server waits for clients to stop before it shuts down anyway. */
const STOP_WAIT_MS = 5000;

interface Attached {
  pid: number;
  stamp: number | null;
}

const running = (a: Attached): boolean => ownerAlive(a.pid, a.stamp);

export class AttachedClients {
  /**
   * Every TS client seen registered, by pid: one that has released its slot
   * (on a Ctrl-C it gets SIGINT too) may still be detaching, and shutdown
   * waits for it instead of taking it for a secondary it cannot ask to stop.
   */
  private readonly seen = new Map<number, { c: number; generation: number; stamp: number | null }>();

  constructor(private readonly registry: ClientRegistry) {}

  /**
   * Remembers every client registered now. The server looks every few
   * milliseconds beside its loop, so a look allocates nothing (the owner
   * word's halves, no BigInt); a new holding is read in full until its start
   * stamp is recorded.
   */
  remember(): void {
    for (let c = 0; c < MAX_CLIENTS; c++) {
      const owner = this.registry.owner(c);
      const pid = owner.holderPid();
      const known = pid === 0 ? undefined : this.seen.get(pid);
      if (pid === 0 || (known?.generation === owner.generation() && known.stamp !== null)) continue;
      const held = owner.read();
      if (held.pid !== 0) this.note(c, held);
    }
  }

  /**
   * Asks every attached client and standby to stop (the registry's stop
   * request) and waits up to STOP_WAIT_MS for them; says on stderr who did
   * not stop and which other secondaries are still attached. Returns whether
   * every one stopped.
   */
  async stop(): Promise<boolean> {
    for (let c = 0; c < MAX_CLIENTS; c++) {
      const held = this.registry.holding(c);
      if (this.registry.holderAlive(c)) this.note(c, held);
    }
    const clients = [...this.seen].map(([pid, a]) => ({ pid, stamp: a.stamp, who: `${a.c} (pid ${pid})` })).filter(running);
    // Standbys (mp-client --standby) hold no slot; they see the stop request
    // within a millisecond and detach: waited for like the clients.
    const standbys = liveSecondaries(clients.map((a) => a.pid))
      .filter((pid) => processArgv(pid).includes('--standby'))
      .map((pid) => ({ pid, stamp: null, who: `standby (pid ${pid})` }));
    const attached = [...clients, ...standbys];
    this.registry.requestStop();
    const deadline = Date.now() + STOP_WAIT_MS;
    while (attached.some(running) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const stuck = attached.filter(running);
    if (stuck.length > 0) {
      process.stderr.write(
        `mp-server: clients ${stuck.map((s) => s.who).join(', ')} did not stop within ${STOP_WAIT_MS} ms; shutting down anyway\n`,
      );
    }
    const others = liveSecondaries(attached.map((a) => a.pid));
    if (others.length > 0) {
      process.stderr.write(
        `mp-server: secondaries still attached that cannot be asked to stop (C clients or DPDK tools): pid ${others.join(', ')}; they may fail once the ports close\n`,
      );
    }
    return stuck.length === 0;
  }

  private note(c: number, held: Ownership): void {
    this.seen.set(held.pid, { c, generation: held.generation, stamp: this.registry.owner(c).stampOf(held.generation) });
  }
}
