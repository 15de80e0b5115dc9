// Failures that break the engine itself rather than one request. A WebAssembly abort (an allocation
// the wasm heap cannot hold, an out-of-bounds access) leaves tfjs's wasm module unusable: every later
// request would fail, blaming healthy models. Such a request is answered with an error naming its
// files and the code 'engine-broken', and the engine ends; the client starts a fresh one.
import { LensError } from '../shared/errors';
import type { WorkerRequest } from '../shared/worker';

const WASM_BROKEN = /Aborted\(|memory access out of bounds|RuntimeError: (unreachable|abort)/i;

/** What a request works on, for messages about it: "model.json", "image.png with model.onnx". */
export function filesOf(message: WorkerRequest): string {
  const model = 'modelPath' in message ? message.modelPath : undefined;
  const image = 'imagePath' in message ? message.imagePath : undefined;
  return image && model ? `${image} with ${model}` : (model ?? image ?? message.type);
}

/** The error to answer with when `error` broke the engine, else undefined. */
export function engineBreakingError(message: WorkerRequest, error: unknown): LensError | undefined {
  const text = error instanceof Error ? error.message : String(error);
  if (!WASM_BROKEN.test(text)) {
    return undefined;
  }
  return new LensError(
    `${filesOf(message)}: the engine's WebAssembly memory failed (${text.split('\n')[0]}); the model or image needs more memory than the engine can hold. The engine restarts for the next request.`,
    'engine-broken',
  );
}
