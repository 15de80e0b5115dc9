// Compile-time tests of the handler tables (src/shared/messaging.ts RequestHandlers): `npm run
// typecheck` compiles this file (tsconfig.json includes test/**), and each @ts-expect-error line
// fails the type check if the error it expects ever stops happening. Never run, only compiled.
import type { RequestBase, RequestHandlers } from '../../src/shared/messaging';
import type { WebviewToHost } from '../../src/shared/panel';
import type { WorkerRequest } from '../../src/shared/worker';

interface Add extends RequestBase<number> {
  type: 'add';
  a: number;
  b: number;
}
interface Name extends RequestBase<{ name: string }> {
  type: 'name';
}
/** A command: no reply type, so it needs (and may have) no handler. */
interface Note {
  type: 'note';
  text: string;
}
type Incoming = Add | Name | Note;

export const right: RequestHandlers<Incoming> = {
  add: (message) => message.a + message.b,
  name: async () => ({ name: 'conv1' }),
};

export const wrongReply: RequestHandlers<Incoming> = {
  // @ts-expect-error a string where the reply is a number
  add: (message) => `${message.a + message.b}`,
  name: async () => ({ name: 'conv1' }),
};

export const wrongAsyncReply: RequestHandlers<Incoming> = {
  add: (message) => message.a + message.b,
  // @ts-expect-error the reply's shape is { name: string }
  name: async () => ({ label: 'conv1' }),
};

// @ts-expect-error every request needs its handler ('name' is missing)
export const missing: RequestHandlers<Incoming> = {
  add: (message) => message.a + message.b,
};

export const commandHandled: RequestHandlers<Incoming> = {
  add: (message) => message.a + message.b,
  name: async () => ({ name: 'conv1' }),
  // @ts-expect-error a command is not a request: it has no handler in the table
  note: () => undefined,
};

export const messageTyped: RequestHandlers<Incoming> = {
  // @ts-expect-error each handler sees its own message type ('add' has no 'text')
  add: (message) => message.text.length,
  name: async () => ({ name: 'conv1' }),
};

// The real boundaries: the panel's `ready` answers a Bootstrap, the worker's `memory` a MemoryReport.
type PanelHandlers = RequestHandlers<WebviewToHost>;
type WorkerHandlers = RequestHandlers<WorkerRequest>;

// @ts-expect-error `ready` answers the bootstrap state, not a bare string
export const wrongReady: PanelHandlers['ready'] = () => 'ready';

// @ts-expect-error `memory` answers { numTensors, numBytes }
export const wrongMemory: WorkerHandlers['memory'] = async () => ({ numTensors: 0 });

export const rightMemory: WorkerHandlers['memory'] = async () => ({ numTensors: 0, numBytes: 0 });

// @ts-expect-error `changeTarget` is a command: the panel's table has no entry for it
export type NoCommandHandler = PanelHandlers['changeTarget'];
