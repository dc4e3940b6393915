#!/usr/bin/env node
// The import graph against the layers of docs/ARCHITECTURE.md:
//   apps -> recovery -> lcore-alloc -> mp-ring -> dpdk-core (metrics beside mp-ring)
// (an app may also import any lower layer directly). Checks every
// workspace package's dependencies and every import in its sources: nothing
// points up or sideways, shipped code (src/) never imports test helpers, and
// benchmarks live in bench/. Exits non-zero with one line per violation.
import fs from 'node:fs';
import path from 'node:path';

const root = path.join(path.dirname(new URL(import.meta.url).pathname), '..');

/** Rank of each workspace package: a package may import only lower ranks. */
const LAYERS = {
  '@mp/dpdk-core': 0,
  '@mp/mp-ring': 1,
  '@mp/metrics': 1,
  '@mp/lcore-alloc': 2,
  '@mp/recovery': 3,
  'client-server': 4,
  'master-slave': 4,
  '@mp/dpdk-mp': 4,
  // Runs the apps' programs as processes (it imports only their sizing constants).
  '@mp/faults': 5,
};
const TEST_KIT = '@mp/test-kit';

const problems = [];
const dirs = ['packages', 'apps'].flatMap((d) => fs.readdirSync(path.join(root, d)).map((n) => path.join(root, d, n)));

function sources(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'dist' ? [] : sources(p);
    return /\.(ts|js|mjs|cjs)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** The workspace package a specifier names ('@mp/dpdk-core/cli' -> '@mp/dpdk-core'), or null. */
function workspacePackage(spec) {
  const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
  return name in LAYERS || name === TEST_KIT ? name : null;
}

for (const dir of dirs) {
  const pkgFile = path.join(dir, 'package.json');
  if (!fs.existsSync(pkgFile)) continue;
  const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8'));
  const rel = path.relative(root, dir);
  if (pkg.name === TEST_KIT) continue;
  const rank = LAYERS[pkg.name];
  if (rank === undefined) {
    problems.push(`${rel}: package ${pkg.name} has no layer in scripts/check-layers.mjs`);
    continue;
  }
  const allowed = (name) => name === pkg.name || (name !== TEST_KIT && LAYERS[name] < rank);
  for (const dep of Object.keys(pkg.dependencies ?? {})) {
    if (workspacePackage(dep) && !allowed(dep)) problems.push(`${rel}/package.json: depends on ${dep}, which is not below ${pkg.name}`);
  }
  for (const file of sources(dir)) {
    const where = path.relative(root, file);
    const shipped = where.split(path.sep).includes('src');
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\brequire\s*\(\s*|^import\s+)['"]([^'"]+)['"]/gm)) {
      const spec = m[1];
      if (spec.startsWith('.')) {
        // A relative path into another package is an import of it all the same.
        const target = path.resolve(path.dirname(file), spec);
        const other = dirs.find((d) => d !== dir && target.startsWith(d + path.sep));
        if (other) problems.push(`${where}: imports ${spec}, inside ${path.relative(root, other)}`);
        if (shipped && /(^|\/)(test|bench)(\/|$)/.test(path.relative(dir, target))) problems.push(`${where}: shipped code imports ${spec}`);
        continue;
      }
      const name = workspacePackage(spec);
      if (name === null) continue;
      if (name === TEST_KIT) {
        if (shipped) problems.push(`${where}: shipped code imports the test helpers (${spec})`);
        continue;
      }
      if (!allowed(name)) problems.push(`${where}: imports ${spec}, which is not below ${pkg.name}`);
    }
    if (shipped && /\bbench\b|benchmark/i.test(path.basename(file))) problems.push(`${where}: a benchmark in src/; benchmarks live in bench/`);
  }
}

if (problems.length > 0) {
  for (const p of problems) console.error(`check-layers: ${p}`);
  process.exit(1);
}
console.log(`check-layers: ${Object.keys(LAYERS).length} packages, every import points down (apps -> recovery -> lcore-alloc -> mp-ring -> dpdk-core)`);
