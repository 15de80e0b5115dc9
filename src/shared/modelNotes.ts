// What the panel, the model viewer and the CLI say about how a model runs, beyond its layers: a
// PyTorch model without weights, and the input size a PyTorch image ran at (found by trial, set in
// cnn-lens.json, or the image's own). Pure: shared by the extension host and the CLI.
import type { ModelSummary } from './types';

/** A warning when the numbers mean nothing yet: a PyTorch model built without a checkpoint. */
export function untrainedNotice(summary: ModelSummary): string | undefined {
  const build = summary.pytorch;
  if (!build || build.checkpoint) {
    return undefined;
  }
  const source = build.source.split(/[\\/]/).pop() as string;
  const stem = source.replace(/\.[^.]*$/, '');
  return (
    `Untrained weights: no checkpoint was found for ${source}, so ${build.builtWith} runs with its initial weights and its predictions and maps mean nothing yet. ` +
    `Put the weights beside it as ${stem}.pth (or .pt/.ckpt), or name the file in cnn-lens.json as "checkpoint".`
  );
}

/**
 * Everything the user must know before trusting the numbers of a model, most serious first: untrained
 * weights, then the engine's warnings (a labels file that does not fit the classes).
 */
export function modelNotices(summary: ModelSummary): string[] {
  const untrained = untrainedNotice(summary);
  return [...(untrained ? [untrained] : []), ...(summary.warnings ?? [])];
}

/** "input 3×32×32 (found by trial; …)" for a PyTorch result whose map is `width`×`height`; undefined for other formats. */
export function pytorchInputNote(summary: ModelSummary, width: number, height: number): string | undefined {
  const build = summary.pytorch;
  if (!build) {
    return undefined;
  }
  const [channels, loadedHeight, loadedWidth] = build.input;
  const own = width !== loadedWidth || height !== loadedHeight || build.inputSource === 'image';
  const how = own
    ? "the image's own size: the model takes any size"
    : build.inputSource === 'sidecar'
      ? 'set in cnn-lens.json'
      : 'found by trial; set "input" in cnn-lens.json to choose it';
  return `input ${channels}×${height}×${width} (${how})`;
}
