// How the running backend is told to people (the CLI's "Backend:" line, the panel's status). The
// engine's detail reads "wasm (SIMD, 1 thread) (skipped: node: @tensorflow/tfjs-node is not
// installed (Cannot find module …))": complete for a log, but it looks like an error where nothing
// went wrong, since tfjs-node is an optional accelerator most machines do not have.

const SKIPPED = ' (skipped: ';
const NOT_INSTALLED = /^node: @tensorflow\/tfjs-node is not installed\b/;
const ORT_MISSING = /^onnxruntime: onnxruntime-node is not installed or does not load here\b/;

/** What runs ("wasm (SIMD, 1 thread)") and each skipped backend with its reason ("node: …"). */
export function splitBackendDetail(detail: string): { running: string; skipped: string[] } {
  const at = detail.indexOf(SKIPPED);
  if (at < 0 || !detail.endsWith(')')) {
    return { running: detail, skipped: [] };
  }
  return { running: detail.slice(0, at), skipped: detail.slice(at + SKIPPED.length, -1).split('; ') };
}

/**
 * One line: what runs, then why a preferred backend did not, except the usual "tfjs-node is not
 * installed", which becomes a short note (the whole reason with `verbose`).
 */
export function backendLine(detail: string, verbose = false): string {
  const { running, skipped } = splitBackendDetail(detail);
  if (verbose) {
    return detail;
  }
  const notes = skipped.map((reason) =>
    NOT_INSTALLED.test(reason)
      ? 'the optional native backend, @tensorflow/tfjs-node, is not installed'
      : ORT_MISSING.test(reason)
        ? 'the optional native engine, onnxruntime-node, is not installed for this platform'
        : `${reason.split(':')[0]} failed: ${reason.slice(reason.indexOf(':') + 1).trim()}`,
  );
  return notes.length > 0 ? `${running}; ${notes.join('; ')}` : running;
}

// Keras and TF.js layers models (code models load as the latter) run there through their layers'
// ONNX export, TF.js graph models through their nodes' (onnxRuntime/exportGraphNodes.ts). A model
// with a layer or op that has no ONNX export still runs on tfjs: its results say so
// (details.nativeFallback), this per-format guess cannot.
const NATIVE_FORMATS = new Set(['onnx', 'pytorch', 'keras', 'keras-h5', 'layers-model', 'graph-model']);
const FOR_NATIVE = ' for ONNX, PyTorch, Keras and TF.js models; ';
const FOR_REST = ' for the rest';

/**
 * The backend that runs a model of this format: with ONNX Runtime on, ONNX, PyTorch, Keras and
 * TF.js (layers and graph) models run there, the rest on the tfjs backend (the engine's detail names both). `detail` is
 * what runs, without the skipped backends. Layer views (activations) always run on tfjs: pass
 * `tfjsOnly`.
 */
export function backendForModel(report: { backend: string; detail: string; tfjs?: string }, format: string, tfjsOnly = false): { backend: string; detail: string } {
  const { running } = splitBackendDetail(report.detail);
  const at = running.indexOf(FOR_NATIVE);
  if (report.backend !== 'onnxruntime' || at < 0) {
    return { backend: report.backend, detail: running };
  }
  if (NATIVE_FORMATS.has(format) && !tfjsOnly) {
    return { backend: 'onnxruntime', detail: running.slice(0, at) };
  }
  const rest = running.slice(at + FOR_NATIVE.length);
  return { backend: report.tfjs ?? report.backend, detail: rest.endsWith(FOR_REST) ? rest.slice(0, -FOR_REST.length) : rest };
}

/** The engine's detail told for one model (backendForModel), the skipped backends kept for backendLine. */
export function detailForModel(report: { backend: string; detail: string; tfjs?: string }, format: string, tfjsOnly = false): string {
  const at = report.detail.indexOf(SKIPPED);
  const skipped = at >= 0 && report.detail.endsWith(')') ? report.detail.slice(at) : '';
  return backendForModel(report, format, tfjsOnly).detail + skipped;
}
