/**
 * A warm standby mp-server: started by the demo while a server runs, it has
 * Node and the addon loaded and waits, without EAL, until the demo writes a
 * line on its stdin; then it starts as the server. A killed server is
 * replaced without paying for a process start. Its stdin closing (the demo
 * gone) ends it quietly.
 */
export const STANDBY_ENV = 'MP_SERVER_STANDBY';

/** In mp-server: true when started as a standby and told to go, false when its stdin closed first. */
export function untilGo(): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (go: boolean): void => {
      process.stdin.off('data', onData).off('end', onEnd).off('error', onEnd);
      process.stdin.pause();
      resolve(go);
    };
    const onData = (): void => done(true);
    const onEnd = (): void => done(false);
    process.stdin.on('data', onData).on('end', onEnd).on('error', onEnd);
  });
}
