/**
 * The one loader of the native addon. Everything that touches C goes through
 * the `native` object exported here; the rest of the package adds validation
 * and types on top.
 */
import path from 'node:path';
import nodeGypBuild from 'node-gyp-build';
import { DpdkError } from './errors';
import { addonLoadError, checkDpdkVersion } from './load-error';

export interface NativeMemzone {
  readonly name: string;
  readonly length: number;
  readonly socket: number;
  readonly created: boolean;
  readonly closed: boolean;
  view(): ArrayBuffer;
  free(): void;
  close(): void;
  load32(offset: number): number;
  store32(offset: number, value: number): void;
  compareExchange32(offset: number, expected: number, desired: number): number;
  add32(offset: number, delta: number): number;
  load64(offset: number): bigint;
  store64(offset: number, value: bigint): void;
  compareExchange64(offset: number, expected: bigint, desired: bigint): bigint;
  add64(offset: number, delta: bigint): bigint;
}

export interface NativeLcore {
  id: number;
  socket: number;
  cpu: number;
  main: boolean;
}

export interface NativeVersion {
  built: string;
  loaded: string;
  loadedString: string;
  pkgConfig: string;
}

export type EalState = 'uninitialised' | 'initialised' | 'failed' | 'cleaned-up' | 'abandoned';

export interface NativeAddon {
  version: NativeVersion;
  setErrorFactory(factory: (code: string, errno: number, op: string, message: string) => Error): void;
  ealInit(argv: string[]): number;
  ealState(): EalState;
  processType(): 'primary' | 'secondary' | null;
  lcores(): NativeLcore[];
  lcoreInfo(): { count: number; main: number; current: number | null; maxLcore: number; socketCount: number };
  primaryProcessAlive(configPath?: string): boolean;
  runtimeDir(): string;
  memoryStats(): {
    hugepageBytes: number;
    pageSize: number;
    hasHugepages: boolean;
    sockets: Array<{
      socket: number;
      heapTotalBytes: number;
      heapFreeBytes: number;
      heapAllocatedBytes: number;
      greatestFreeBytes: number;
      allocCount: number;
      freeCount: number;
    }>;
  };
  cleanup(): boolean;
  abandon(): boolean;
  reserveMemzone(name: string, length: number, socket: number, align: number): NativeMemzone;
  lookupMemzone(name: string): NativeMemzone;
  walkMemzones(): Array<{ name: string; length: number; socket: number; hugepageSize: number }>;
  portList(): PortSummary[];
}

export interface PortSummary {
  id: number;
  name: string;
  mac: string;
  socket: number;
}

function load(): NativeAddon {
  let addon: NativeAddon;
  try {
    addon = nodeGypBuild(path.join(__dirname, '..')) as NativeAddon;
  } catch (e) {
    throw addonLoadError(e);
  }
  checkDpdkVersion(addon.version);
  addon.setErrorFactory((code, errno, op, message) => new DpdkError(code, errno, op, message));
  return addon;
}

export const native: NativeAddon = load();
