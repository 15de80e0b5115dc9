// The few DOM types the page-side callbacks (`frame.evaluate(...)`) use. The repository's tsconfig
// compiles Node code without the DOM library on purpose (engine code must not touch browser
// globals), so callbacks that run in the browser reach its globals through these types:
//   const { document } = globalThis as unknown as BrowserGlobals;
// Callbacks are serialised into the page, so they may use these types but no imported values.

export interface DomElement {
  readonly tagName: string;
  readonly hidden?: boolean;
  readonly innerText?: string;
  readonly textContent: string | null;
  getAttribute(name: string): string | null;
  querySelector(selector: string): DomElement | null;
  querySelectorAll(selector: string): ArrayLike<DomElement>;
}

export interface DomImageData {
  readonly data: Uint8ClampedArray;
}

export interface Dom2dContext {
  drawImage(source: DomCanvas, dx: number, dy: number): void;
  getImageData(sx: number, sy: number, sw: number, sh: number): DomImageData;
}

export interface DomCanvas extends DomElement {
  width: number;
  height: number;
  getContext(kind: '2d'): Dom2dContext | null;
}

export interface BrowserGlobals {
  document: {
    querySelector(selector: string): DomElement | null;
    createElement(tag: 'canvas'): DomCanvas;
  };
  getComputedStyle(element: DomElement): { display: string; backgroundColor: string };
}
