// One request/reply channel used for both boundaries: extension host <-> engine worker and
// extension host <-> webview. Each side gives it a `post` function and feeds it incoming messages.
// Unlike a bare postMessage, a request always settles: with the handler's value, with the handler's
// error (re-thrown on the caller's side with the same message), on timeout, or on cancel.

import { cancelledError, errorCode, isErrorCode, LensError } from './errors';

/** A message that expects an answer. `R` is the answer's type (phantom, for inference). */
export interface RequestBase<R = unknown> {
  type: string;
  /** Never set by callers; carries the answer type. */
  readonly __reply?: R;
}

export type ReplyOf<M> = M extends RequestBase<infer R> ? R : never;

/**
 * The requests among the messages `T`: those that declare an answer type (extend RequestBase<R>).
 * Commands and notifications have no `__reply` key, so they drop out even though they match
 * RequestBase structurally (its `__reply` is optional).
 */
export type RequestsOf<T> = T extends { type: string } ? ('__reply' extends keyof T ? T : never) : never;

/**
 * The answering side's handler table: one handler per request type, each bound to return that
 * request's own reply type, as gitlens's webview IPC binds a notification type to its params. A
 * handler returning another shape, or a missing handler, is a compile error (test/types/handlers.ts).
 */
export type RequestHandlers<TIn> = {
  [K in RequestsOf<TIn>['type']]: (
    message: Extract<RequestsOf<TIn>, { type: K }>,
    context: HandlerContext,
  ) => Promise<ReplyOf<Extract<RequestsOf<TIn>, { type: K }>>> | ReplyOf<Extract<RequestsOf<TIn>, { type: K }>>;
};

/**
 * The wire envelope. Payload messages travel inside it unchanged. A received envelope's body is
 * the other side's word only: `validate` checks it (see EndpointHandlers).
 */
export type Envelope =
  | { kind: 'request'; id: number; body: { type: string } }
  | { kind: 'reply'; id: number; ok: true; value: unknown }
  | { kind: 'reply'; id: number; ok: false; error: SerializedError }
  | { kind: 'cancel'; id: number }
  | { kind: 'event'; body: { type: string } };

export interface SerializedError {
  message: string;
  name: string;
  /** The error's code (src/shared/errors.ts ErrorCode): 'cancelled', 'timeout', 'bad-input'... */
  code?: string;
  stack?: string;
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    return { message: error.message, name: error.name, code: errorCode(error), stack: error.stack };
  }
  return { message: String(error), name: 'Error' };
}

/** The other side's error as a LensError with the same message, name and (known) code. */
export function deserializeError(error: SerializedError): LensError {
  const result = new LensError(error.message, isErrorCode(error.code) ? error.code : undefined, error.name);
  if (error.stack) {
    result.stack = error.stack;
  }
  return result;
}

/** Context given to a request handler on the answering side. */
export interface HandlerContext {
  /** Aborted when the requester cancels. */
  signal: AbortSignal;
  id: number;
}

export interface RequestOptions {
  /** Reject with code 'timeout' after this many ms (default: none). */
  timeoutMs?: number;
  /** Cancel the request on the other side when this signal aborts. */
  signal?: AbortSignal;
  /** Objects to transfer rather than copy (worker boundary only). */
  transfer?: ArrayBuffer[];
}

type Post = (envelope: Envelope, transfer?: ArrayBuffer[]) => void;

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  cleanup(): void;
}

/** What an endpoint does with the messages it receives. */
export interface EndpointHandlers<TIn extends { type: string }> {
  /** One handler per request type `TIn` holds ({} when it holds none). */
  requests: RequestHandlers<TIn>;
  onEvent?: (message: TIn) => void;
  /**
   * Sees every error a request handler throws before it is sent back, and returns the error to
   * send (the engine worker uses it to notice a broken engine).
   */
  onRequestError?: (message: TIn, error: unknown) => unknown;
  /**
   * The boundary's runtime check of an incoming body (src/shared/messageGuards.ts): returns it as
   * `TIn` or throws. A request that fails it is answered with that error; an event that fails it
   * goes to `onInvalid` and no further.
   */
  validate?: (body: unknown) => TIn;
  onInvalid?: (error: unknown) => void;
}

/**
 * `TIn` are the messages this side receives as requests or events, `TOut` the ones it sends.
 * `requests` answers incoming requests by type; `onEvent` handles incoming events.
 */
export class MessageChannelEndpoint<TOut extends { type: string }, TIn extends { type: string }> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly running = new Map<number, AbortController>();

  constructor(
    private readonly post: Post,
    private readonly handlers: EndpointHandlers<TIn>,
  ) {}

  /** Send a request and wait for its answer. */
  request<M extends TOut>(message: M, options: RequestOptions = {}): Promise<ReplyOf<M>> {
    const id = this.nextId++;
    return new Promise<ReplyOf<M>>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = () => {
        this.settle(id, false, cancelledError());
        this.post({ kind: 'cancel', id });
      };
      const cleanup = () => {
        if (timer) {
          clearTimeout(timer);
        }
        options.signal?.removeEventListener('abort', onAbort);
      };
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, cleanup });
      if (options.signal) {
        if (options.signal.aborted) {
          onAbort();
          return;
        }
        options.signal.addEventListener('abort', onAbort, { once: true });
      }
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.settle(id, false, new LensError(`${message.type} timed out after ${options.timeoutMs} ms`, 'timeout'));
          this.post({ kind: 'cancel', id });
        }, options.timeoutMs);
      }
      this.post({ kind: 'request', id, body: message }, options.transfer);
    });
  }

  /** Send a message that expects no answer. */
  emit(message: TOut, transfer?: ArrayBuffer[]): void {
    this.post({ kind: 'event', body: message }, transfer);
  }

  /** Feed every message received from the other side here. Returns false for foreign messages. */
  handle(data: unknown): boolean {
    if (!isEnvelope(data)) {
      return false;
    }
    switch (data.kind) {
      case 'reply':
        if (data.ok) {
          this.settle(data.id, true, data.value);
        } else {
          this.settle(data.id, false, deserializeError(data.error));
        }
        return true;
      case 'cancel':
        this.running.get(data.id)?.abort();
        return true;
      case 'event': {
        let message: TIn;
        try {
          message = this.checked(data.body);
        } catch (error) {
          this.handlers.onInvalid?.(error);
          return true;
        }
        this.handlers.onEvent?.(message);
        return true;
      }
      case 'request':
        void this.answer(data.id, data.body);
        return true;
    }
  }

  /** Reject everything still waiting (the other side went away). */
  rejectAll(error: Error): void {
    for (const id of [...this.pending.keys()]) {
      this.settle(id, false, error);
    }
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** The body as `TIn`, through the boundary's validator when it has one. */
  private checked(body: unknown): TIn {
    return this.handlers.validate ? this.handlers.validate(body) : (body as TIn);
  }

  private async answer(id: number, body: unknown): Promise<void> {
    const controller = new AbortController();
    this.running.set(id, controller);
    let message: TIn | undefined;
    try {
      message = this.checked(body);
      const value = await this.dispatch(message, { signal: controller.signal, id });
      this.post({ kind: 'reply', id, ok: true, value }, collectTransferables(value));
    } catch (error) {
      if (message === undefined) {
        this.handlers.onInvalid?.(error);
      }
      const sent = message !== undefined && this.handlers.onRequestError ? this.handlers.onRequestError(message, error) : error;
      this.post({ kind: 'reply', id, ok: false, error: serializeError(sent) });
    } finally {
      this.running.delete(id);
    }
  }

  private dispatch(message: TIn, context: HandlerContext): unknown {
    const table = this.handlers.requests as unknown as Record<string, ((message: TIn, context: HandlerContext) => unknown) | undefined>;
    const handler = Object.prototype.hasOwnProperty.call(table, message.type) ? table[message.type] : undefined;
    if (!handler) {
      throw new LensError(`"${message.type}" is not a request this side answers.`, 'bad-request');
    }
    return handler(message, context);
  }

  private settle(id: number, ok: boolean, value: unknown): void {
    const pending = this.pending.get(id);
    if (!pending) {
      return;
    }
    this.pending.delete(id);
    pending.cleanup();
    if (ok) {
      pending.resolve(value);
    } else {
      pending.reject(value);
    }
  }
}

function isEnvelope(data: unknown): data is Envelope {
  if (typeof data !== 'object' || data === null) {
    return false;
  }
  const kind = (data as { kind?: unknown }).kind;
  return kind === 'request' || kind === 'reply' || kind === 'cancel' || kind === 'event';
}

/** Typed-array buffers found in a reply (one level of objects and arrays deep is enough here). */
export function collectTransferables(value: unknown, found: Set<ArrayBuffer> = new Set(), depth = 0): ArrayBuffer[] {
  if (depth > 4 || value === null || typeof value !== 'object') {
    return [...found];
  }
  if (ArrayBuffer.isView(value)) {
    const buffer = value.buffer;
    // Only whole, non-shared buffers can be transferred without detaching unrelated data.
    if (buffer instanceof ArrayBuffer && value.byteOffset === 0 && value.byteLength === buffer.byteLength) {
      found.add(buffer);
    }
    return [...found];
  }
  for (const item of Array.isArray(value) ? value : Object.values(value)) {
    collectTransferables(item, found, depth + 1);
  }
  return [...found];
}
