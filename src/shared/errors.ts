// Errors the engine raises on purpose. Each names the offending file or value and what to do, so
// the CLI can print one line and the panel can show it as is. The code survives the worker boundary
// (messaging.ts serialises it), letting the UI tell a user mistake from an engine failure.

export type EngineErrorCode =
  /** The image or model file cannot be read or decoded. */
  | 'bad-input'
  /** The model loads but cannot be explained as asked (no 4-D layer, unsupported layer...). */
  | 'unsupported'
  /** The request names something that does not exist (layer, class index...). */
  | 'bad-request'
  | 'cancelled'
  /** The engine itself broke (a WebAssembly abort): the request failed, and the engine restarts. */
  | 'engine-broken';

export class EngineError extends Error {
  constructor(
    message: string,
    readonly code: EngineErrorCode,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

/** Throws a cancellation error when the signal has fired; call between stages of long work. */
export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new EngineError('Cancelled', 'cancelled');
  }
}

/**
 * The model computed NaN or infinite class scores. Raised where the scores are read (pipeline.ts);
 * explain() turns it into a message naming the model and the image.
 */
export class NonFiniteScoresError extends EngineError {
  constructor(readonly detail: string) {
    super(`the class scores are not finite (${detail})`, 'bad-input');
  }
}
