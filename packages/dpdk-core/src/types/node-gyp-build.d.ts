declare module 'node-gyp-build' {
  /** Loads the addon from prebuilds/ or build/ under the given package root. */
  function nodeGypBuild(packageRoot: string): unknown;
  export = nodeGypBuild;
}
