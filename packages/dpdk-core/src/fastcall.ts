/**
 * The packet path's frame (native/fastcall.h): a packet-path call's numbers
 * go into `fastArgs`, the native function is called with no arguments, and
 * its count comes back in `fastResult`. Converting N-API values cost more
 * than the V8 call itself; typed-array stores and loads cost nothing.
 *
 * Callers compute every argument (which may throw, or run a valueOf) before
 * they write the first one, so no other call can overwrite a half-written
 * frame, and read the result right after their call.
 */
import { native } from './native';

declare module './native' {
  interface NativeAddon {
    fastFrame: ArrayBuffer;
  }
}

/** Arguments of the next packet-path call. */
export const fastArgs = new Float64Array(native.fastFrame, 0, 4);
/** The count the last packet-path call returned. */
export const fastResult = new Int32Array(native.fastFrame, 32, 1);
