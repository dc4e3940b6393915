#!/usr/bin/env node
// The package's install hook. An installed tarball carries a prebuilt addon
// (prebuilds/, made by prebuildify): when it loads with this machine's DPDK,
// nothing is compiled, so no compiler is needed. Otherwise the addon is built
// from source against the DPDK installed here (scripts/build-native.sh).
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');

function loadError() {
  try {
    require('node-gyp-build')(root);
    return null;
  } catch (e) {
    return e;
  }
}

function canBuild() {
  const has = (cmd, args) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
  return has('g++', ['--version']) && has('make', ['--version']) && has('python3', ['--version']) && has('pkg-config', ['--exists', 'libdpdk']);
}

function explain(error) {
  try {
    return require(path.join(root, 'dist', 'load-error.js')).addonLoadError(error).message;
  } catch {
    return String(error && error.message);
  }
}

const fromSource = process.env.npm_config_build_from_source === 'true';
const error = fromSource ? new Error('building from source as asked (--build-from-source)') : loadError();
if (error === null) process.exit(0);
if (!fromSource && /librte_\w+\.so/.test(String(error.message)) && !canBuild()) {
  // The prebuild is sound; this machine lacks DPDK's runtime. Installing goes
  // on, and loading the package says the same until the libraries are there.
  console.warn(`@mp/dpdk-core: ${explain(error)}`);
  process.exit(0);
}
const built = spawnSync('bash', [path.join(__dirname, 'build-native.sh')], { stdio: 'inherit' });
process.exit(built.status ?? 1);
