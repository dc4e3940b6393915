'use strict';
/**
 * Preloaded (NODE_OPTIONS=--require) into the apps' processes by the fault
 * suite only: remembers every packet vector the process creates and, once
 * the suite writes a failpoint name into $MP_FAULTS_ARM_DIR/<pid>, arms it on
 * them (dpdk-core's test-only armFailpoint: the process SIGKILLs itself at
 * that point of its next fill or send). Without the variable it does nothing;
 * the apps themselves offer no way to arm a failpoint.
 */
const fs = require('node:fs');
const path = require('node:path');

const dir = process.env.MP_FAULTS_ARM_DIR;
if (dir) {
  // The module instance the apps use: index.js re-exports vector.js's
  // createPacketVector through a getter that reads it on every call.
  const vectorModule = require(path.join(path.dirname(require.resolve('@mp/dpdk-core')), 'vector.js'));
  const create = vectorModule.createPacketVector;
  const vectors = [];
  vectorModule.createPacketVector = function createPacketVector(opts) {
    const v = create(opts);
    vectors.push(v);
    return v;
  };
  const file = path.join(dir, String(process.pid));
  const timer = setInterval(() => {
    let which;
    try {
      which = fs.readFileSync(file, 'utf8').trim();
    } catch {
      return;
    }
    const open = vectors.filter((v) => !v.closed);
    if (open.length === 0) return;
    clearInterval(timer);
    for (const v of open) v.armFailpoint(which);
  }, 10);
  timer.unref();
}
