// Lit adopts its styles as constructable stylesheets where the browser can (VS Code's webviews
// can), which a CSP does not block. Where it cannot, it falls back to <style> elements, which our
// CSP allows only with the page's nonce: Lit reads that nonce from `window.litNonce`. This module
// must be imported before any component so the value is there when their styles are created.
// (`currentScript.nonce` is readable from script even though the attribute is hidden.)
declare global {
  interface Window {
    litNonce?: string;
  }
}

const nonce = (document.currentScript as HTMLScriptElement | null)?.nonce;
if (nonce) {
  window.litNonce = nonce;
}

export {};
