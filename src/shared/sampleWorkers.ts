// How many helper engine workers the setting cnnLens.sampleWorkers (or the CLI's --sample-workers)
// asks for on this machine. Shared: the host reads the setting, the worker starts the helpers.
/** -1 (and anything invalid): one helper per core beyond the engine's own, at most 3; else 0 to 8. */
export function resolveSampleWorkers(setting: number, cores: number): number {
  if (Number.isInteger(setting) && setting >= 0) {
    return Math.min(setting, 8);
  }
  return Math.max(0, Math.min(cores - 1, 3));
}
