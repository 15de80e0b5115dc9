// The engine's end of its channel to whoever started it. The extension and the CLI start the engine
// as a child process (src/workerClient/client.ts: an out-of-memory abort, a WebAssembly crash or a
// runaway allocation then ends that process only, never the extension host), talking over the
// process's IPC channel with structured-clone serialization; a worker thread, if anything starts
// the engine as one, talks over parentPort. Either way the engine sees post + onMessage.
import { parentPort } from 'worker_threads';
import { LensError } from '../shared/errors';

export interface EnginePort {
  post(message: unknown, transfer?: ArrayBuffer[]): void;
  onMessage(listener: (data: unknown) => void): void;
}

export function enginePort(): EnginePort {
  const thread = parentPort;
  if (thread) {
    return {
      post: (message, transfer) => thread.postMessage(message, transfer ?? []),
      onMessage: (listener) => thread.on('message', listener),
    };
  }
  const send = process.send?.bind(process);
  if (!send) {
    throw new LensError('The CNN Lens engine runs as a child process started with an IPC channel (child_process.fork) or in a worker thread.', 'unsupported');
  }
  // The starter went away (closed the channel, or died): nothing will ever ask again.
  process.on('disconnect', () => process.exit(0));
  return {
    // Nothing is transferred across processes: the values are copied.
    post: (message) => {
      if (process.connected) {
        send(message);
      }
    },
    onMessage: (listener) => process.on('message', listener),
  };
}
