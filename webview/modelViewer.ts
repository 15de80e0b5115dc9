// The model viewer page's script (bundled to dist/modelViewer.js, loaded with the page's nonce): it
// talks to src/host/editors/modelViewer.ts over the same typed channel as the panel
// (src/shared/messaging.ts); the host checks each message (src/shared/messageGuards.ts).
import { MessageChannelEndpoint } from '../src/shared/messaging';
import type { ModelViewerToHost } from '../src/shared/modelViewer';
import { wireModelViewer } from './modelViewerPage';
import { vscodeApi } from './vscodeApi';

const api = vscodeApi<unknown>();
const endpoint = new MessageChannelEndpoint<ModelViewerToHost, never>((envelope) => api.postMessage(envelope), {
  requests: {}, // the host asks the page nothing: it redraws the page instead
});
window.addEventListener('message', (event: MessageEvent<unknown>) => endpoint.handle(event.data));

wireModelViewer({ querySelectorAll: (selector) => document.querySelectorAll<HTMLElement>(selector) }, (message) => endpoint.emit(message));
