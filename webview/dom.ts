// Small DOM and text helpers of the page's views.

/** Short numbers for captions: `digits` significant digits, no "-0". */
export function formatValue(value: number, digits = 3): string {
  if (!Number.isFinite(value)) {
    return String(value);
  }
  if (value === 0 || Object.is(value, -0)) {
    return '0';
  }
  const abs = Math.abs(value);
  return abs >= 1000 || abs < 0.001 ? value.toExponential(digits - 1) : value.toPrecision(digits).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
}

export function element<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}
