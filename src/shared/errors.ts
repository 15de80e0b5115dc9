// CNN Lens's one error type. Every error raised on purpose, in any process, is a LensError with a
// code from ErrorCode; its message names the offending file or value and what to do, so the CLI can
// print one line and the panel can show it as is. The code survives every boundary (messaging.ts
// serialises it), letting the UI tell a user mistake from an engine failure, and a cancellation
// from both: isCancelled is the one test for it, wherever the error was raised.

export type ErrorCode =
  /** The image or model file cannot be read or decoded. */
  | 'bad-input'
  /** The model loads but cannot be explained as asked (no 4-D layer, unsupported layer...). */
  | 'unsupported'
  /** The request names something that does not exist (layer, class index...). */
  | 'bad-request'
  /** A message across a process boundary is not one the receiver knows (src/shared/guards.ts). */
  | 'invalid-message'
  /** The user (or a newer request) cancelled the work. Not an error to report. */
  | 'cancelled'
  /** A request got no answer in time. */
  | 'timeout'
  /** The engine itself broke (a WebAssembly abort): the request failed, and the engine restarts. */
  | 'engine-broken'
  /** The engine process ended while requests were waiting (crash, out of memory). */
  | 'worker-crashed'
  /** The engine was restarted (a setting changed, a cancelled computation would not stop). */
  | 'worker-restarted'
  /** The other side went away (the panel was closed). */
  | 'closed'
  /** A model defined in code in an untrusted workspace (src/host/codeModels/trust.ts). */
  | 'untrusted'
  /** No model was found or chosen for the panel (src/host/modelDiscovery.ts). */
  | 'model-not-found';

/** Every code, for reading one back from another process (a Record, so a new code must be added here). */
const KNOWN_CODES: Readonly<Record<ErrorCode, true>> = {
  'bad-input': true,
  unsupported: true,
  'bad-request': true,
  'invalid-message': true,
  cancelled: true,
  timeout: true,
  'engine-broken': true,
  'worker-crashed': true,
  'worker-restarted': true,
  closed: true,
  untrusted: true,
  'model-not-found': true,
};

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(KNOWN_CODES, code);
}

export class LensError extends Error {
  /** Undefined only for an unexpected error that crossed a boundary (a bug, not a user mistake). */
  readonly code: ErrorCode | undefined;

  constructor(message: string, code: ErrorCode | undefined, name = 'LensError') {
    super(message);
    this.code = code;
    this.name = name;
  }
}

/** The code an error carries: a LensError's, or one that crossed a boundary as a plain object. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The one test for cancellation, whichever process or library raised it. */
export function isCancelled(error: unknown): boolean {
  return errorCode(error) === 'cancelled';
}

/** The error a cancelled request ends with. */
export function cancelledError(message = 'Cancelled'): LensError {
  return new LensError(message, 'cancelled', 'CancelledError');
}

/** Throws a cancellation error when the signal has fired; call between stages of long work. */
export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw cancelledError();
  }
}

/**
 * The model computed NaN or infinite class scores. Raised where the scores are read (pipeline.ts);
 * explain() turns it into a message naming the model and the image.
 */
export class NonFiniteScoresError extends LensError {
  constructor(readonly detail: string) {
    super(`the class scores are not finite (${detail})`, 'bad-input');
  }
}
