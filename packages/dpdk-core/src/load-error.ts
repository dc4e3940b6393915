/**
 * Why the addon cannot run on this machine, as one error that names the fix.
 * Kept apart from the loader so that the install script can use it on an
 * addon that failed to load.
 */
import { dpdkError, type DpdkError } from './errors';

/** Rebuilding against the DPDK that is installed: in an install, and in this repository. */
const REBUILD =
  'npm rebuild @mp/dpdk-core (needs g++, make, python3 and pkg-config with libdpdk-dev; in the dpdk-mp repository: pnpm --filter @mp/dpdk-core run build:native)';

/**
 * The addon must run against the DPDK release it was compiled for: DPDK keeps
 * its ABI within a release's point releases (22.11.x all ship
 * librte_*.so.23), and only within them.
 */
export function checkDpdkVersion(version: { built: string; loaded: string }): void {
  const release = (v: string): string => v.split('.').slice(0, 2).join('.');
  if (release(version.built) !== release(version.loaded)) {
    throw dpdkError(
      'E_DPDK_VERSION',
      'load',
      `@mp/dpdk-core was built against DPDK ${version.built} but DPDK ${version.loaded} is installed; rebuild the addon: ${REBUILD}`,
    );
  }
}

/** What went wrong when loading the compiled addon (dlopen), and what to do about it. */
export function addonLoadError(cause: unknown): DpdkError {
  const message = cause instanceof Error ? cause.message : String(cause);
  const lib = /(librte_\w+)\.so\.(\d+)/.exec(message);
  if (lib) {
    const release = `${Number(lib[2]) - 1}.11`;
    return dpdkError(
      'E_DPDK_MISSING',
      'load',
      `cannot load DPDK's ${lib[0]} (${message.replace(/^.*?\.so\.\d+: /, '')}): this @mp/dpdk-core addon needs DPDK ${release}'s runtime libraries. ` +
        `Install them (Debian 12: apt-get install dpdk), or rebuild the addon against the DPDK you have: ${REBUILD}`,
    );
  }
  if (/No native build was found/.test(message)) {
    return dpdkError('E_NO_ADDON', 'load', `@mp/dpdk-core has no prebuilt addon for this platform and none was built: ${REBUILD}`);
  }
  return dpdkError('E_ADDON_LOAD', 'load', `cannot load the @mp/dpdk-core addon: ${message}`);
}
