// The webview's handle on VS Code, behind a replaceable factory: the real `acquireVsCodeApi` may be
// called only once per page, and tests can install a fake (no VS Code needed to test the UI logic).

export interface VsCodeApi<State> {
  postMessage(message: unknown): void;
  getState(): State | undefined;
  setState(state: State): void;
}

declare function acquireVsCodeApi<State>(): VsCodeApi<State>;

let factory: () => VsCodeApi<unknown> = () => acquireVsCodeApi<unknown>();
let instance: VsCodeApi<unknown> | undefined;

export function vscodeApi<State>(): VsCodeApi<State> {
  instance ??= factory();
  return instance as VsCodeApi<State>;
}

/** For tests: use `create` instead of acquireVsCodeApi on the next vscodeApi() call. */
export function setVsCodeApiFactory(create: () => VsCodeApi<unknown>): void {
  factory = create;
  instance = undefined;
}
