/**
 * The packet path's frame (native/fastcall.h): a packet-path call's numbers
 * go into `fastArgs`, the native function is called with no arguments, and
 * its count comes back in `fastResult`. Converting N-API values cost more
 * than the V8 call itself; typed-array stores and loads cost nothing.
 *
 * Callers check every argument (which may throw) before they write the
 * first one, so no other call can overwrite a half-written frame, and read
 * the result right after their call.
 */
import { markAsUntransferable } from 'node:worker_threads';
import { native } from './native';

// The addon keeps raw pointers into the frame: transferring it
// (structuredClone or postMessage with a transfer list) would move its memory
// away under them. Marked, it is copied instead.
markAsUntransferable(native.fastFrame);

/** Arguments of the next packet-path call. */
export const fastArgs = new Float64Array(native.fastFrame, 0, 4);
/** The count the last packet-path call returned. */
export const fastResult = new Int32Array(native.fastFrame, 32, 1);

/**
 * A packet-path number, refused as the napi_value checks refused it: `+`
 * would turn '0', '' or null into port 0 and run an object's valueOf. C++
 * still checks that it is an integer in range.
 */
export function frameNumber(v: unknown, what: string): number {
  if (typeof v !== 'number') throw new TypeError(`${what} must be a number`);
  return v;
}

const clock = native.monotonicMs;

/**
 * A monotonic clock in milliseconds (CLOCK_MONOTONIC) that allocates
 * nothing: for packet loops that check the time every few polls, where
 * performance.now()'s returned double costs a heap number per call (and the
 * garbage collections that follow).
 */
export function monotonicMs(): number {
  clock();
  return fastArgs[0] as number;
}
