/**
 * Dependencies between slaves: who must be stopped when a slave dies, and in
 * which order a group starts and stops. Pure functions, tested without EAL.
 *
 * Cycles are allowed and common: in l2fwd each slave of a port pair
 * transmits on the port the other receives from, so each depends on the
 * other. Mutually dependent slaves (a strongly connected component) start
 * together in one wave; components start after the components they depend on.
 */
import { dpdkError } from '@mp/dpdk-core';

export interface DependencyNode {
  readonly name: string;
  readonly dependsOn?: readonly string[] | undefined;
}

/** Throws EINVAL for duplicate names, unknown dependencies and self-dependencies. */
export function checkGraph(nodes: readonly DependencyNode[]): void {
  const names = new Set<string>();
  for (const n of nodes) {
    if (names.has(n.name)) throw dpdkError('EINVAL', 'Supervisor', `slave name '${n.name}' is declared twice; names must be unique`);
    names.add(n.name);
  }
  for (const n of nodes) {
    for (const d of n.dependsOn ?? []) {
      if (d === n.name) throw dpdkError('EINVAL', 'Supervisor', `slave '${n.name}' depends on itself; remove it from its dependsOn`);
      if (!names.has(d)) {
        throw dpdkError('EINVAL', 'Supervisor', `slave '${n.name}' depends on '${d}', which is not declared; declare it or fix the name`);
      }
    }
  }
}

/** `name` and every slave that depends on it, directly or through others, in declaration order. */
export function dependentsClosure(nodes: readonly DependencyNode[], names: Iterable<string>): string[] {
  const dependents = new Map<string, string[]>();
  for (const n of nodes) {
    for (const d of n.dependsOn ?? []) {
      const list = dependents.get(d) ?? [];
      list.push(n.name);
      dependents.set(d, list);
    }
  }
  const seen = new Set<string>();
  const stack = [...names];
  while (stack.length > 0) {
    const cur = stack.pop() as string;
    if (seen.has(cur)) continue;
    seen.add(cur);
    stack.push(...(dependents.get(cur) ?? []));
  }
  return nodes.map((n) => n.name).filter((n) => seen.has(n));
}

/**
 * Start order for `subset` (default: all): waves of names; every slave's
 * dependencies inside the subset are in an earlier wave or in its own wave
 * (when they depend on each other). Dependencies outside the subset are taken
 * as already running. Names inside a wave keep declaration order.
 */
export function startWaves(nodes: readonly DependencyNode[], subset?: Iterable<string>): string[][] {
  const inSet = new Set(subset ?? nodes.map((n) => n.name));
  const members = nodes.filter((n) => inSet.has(n.name));
  const order = new Map(members.map((n, i) => [n.name, i]));
  const deps = new Map(members.map((n) => [n.name, (n.dependsOn ?? []).filter((d) => inSet.has(d))]));
  const component = tarjan(members.map((n) => n.name), (v) => deps.get(v) ?? []);
  const compCount = Math.max(-1, ...component.values()) + 1;
  // Tarjan numbers components in reverse topological order of the edges
  // v -> dependency, so dependencies get lower numbers: a component's level
  // is one more than the highest level among the components it depends on.
  const level = new Array<number>(compCount).fill(0);
  for (let c = 0; c < compCount; c++) {
    for (const v of members) {
      if (component.get(v.name) !== c) continue;
      for (const d of deps.get(v.name) ?? []) {
        const dc = component.get(d) as number;
        if (dc !== c) level[c] = Math.max(level[c] as number, (level[dc] as number) + 1);
      }
    }
  }
  const waves: string[][] = [];
  for (const v of members) {
    const l = level[component.get(v.name) as number] as number;
    while (waves.length <= l) waves.push([]);
    (waves[l] as string[]).push(v.name);
  }
  return waves.filter((w) => w.length > 0).map((w) => w.sort((a, b) => (order.get(a) as number) - (order.get(b) as number)));
}

/** Stop order: dependents before what they depend on (the start waves reversed). */
export function stopWaves(nodes: readonly DependencyNode[], subset?: Iterable<string>): string[][] {
  return startWaves(nodes, subset).reverse();
}

/** Strongly connected components; returns vertex -> component number (dependencies first). */
function tarjan(vertices: readonly string[], edges: (v: string) => readonly string[]): Map<string, number> {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const component = new Map<string, number>();
  let next = 0;
  let comps = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of edges(v)) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
      }
    }
    if (low.get(v) === index.get(v)) {
      for (;;) {
        const w = stack.pop() as string;
        onStack.delete(w);
        component.set(w, comps);
        if (w === v) break;
      }
      comps++;
    }
  };
  for (const v of vertices) if (!index.has(v)) visit(v);
  return component;
}
