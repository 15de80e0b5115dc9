// Where the layers of a model defined in code are created: the `tf.layers.conv2d(…)`-style calls of
// a *.model.ts/js file, and which of the loaded model's layers each call made, for CodeLens/hover.
//
// The text is first masked lexically (comments, strings, template literals and regular expression
// literals blanked out, offsets kept), so a call written in a comment or a string is not a call, and
// brackets inside strings do not confuse the argument scan. Then, per call:
// - a `name: '…'` option in its first argument names the layer: the most robust link, and what the
//   sample does;
// - otherwise calls are matched to layers by order of creation, per layer class: the k-th unnamed
//   `conv2d(` call is the k-th unnamed Conv2D layer of the model. tfjs's automatic names cannot be
//   used: they come from a counter shared by the whole engine (`conv2d_1`, then `conv2d_5` after a
//   few re-runs on save), so they change every time the file runs. Order stops being a safe guess
//   when the numbers differ (a layer built in a loop or a helper called twice): those calls get no
//   lens rather than the wrong layer's.
// No `vscode` import: test/unit/codeModelLayers.test.ts runs it on the sample and on tricky text.
import type { LayerInfo } from '../../shared/types';

export interface LayerCall {
  /** The factory as written, e.g. `conv2d`, `maxPooling2d`. */
  factory: string;
  /** Offset of the call expression (`tf.layers.conv2d`): the CodeLens line. */
  offset: number;
  /** The factory identifier's range: the hover range when there is no name option. */
  factoryOffset: number;
  factoryLength: number;
  /** The `name:` option's value and its range (quotes included), when given as a plain string. */
  name?: string;
  nameOffset?: number;
  nameLength?: number;
}

/** A call matched to a layer of the loaded model. */
export interface MatchedLayerCall extends LayerCall {
  layer: LayerInfo;
}

/** Blanks comments, strings and regex literals with spaces (string quotes kept), preserving offsets. */
export function maskNonCode(text: string): string {
  const out = text.split('');
  const blank = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      if (out[i] !== '\n') {
        out[i] = ' ';
      }
    }
  };
  let i = 0;
  /** The last significant character before i, to tell a regex literal from a division. */
  let previous = '';
  while (i < text.length) {
    const c = text[i];
    const next = text[i + 1];
    if (c === '/' && next === '/') {
      const end = text.indexOf('\n', i);
      const stop = end === -1 ? text.length : end;
      blank(i, stop);
      i = stop;
    } else if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end === -1 ? text.length : end + 2;
      blank(i, stop);
      i = stop;
    } else if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c) {
        if (text[j] === '\\') {
          j++;
        } else if (c !== '`' && text[j] === '\n') {
          break; // unterminated: stop at the line end
        }
        j++;
      }
      blank(i + 1, j);
      i = j + 1;
      previous = c;
    } else if (c === '/' && (previous === '' || '(,=:[!&|?{};+-*%<>~^'.includes(previous) || /\b(return|typeof|case|in|of)$/.test(text.slice(Math.max(0, i - 7), i).trimEnd()))) {
      // A regular expression literal: up to the unescaped `/` outside a character class.
      let j = i + 1;
      let inClass = false;
      while (j < text.length && text[j] !== '\n' && (inClass || text[j] !== '/')) {
        if (text[j] === '\\') {
          j++;
        } else if (text[j] === '[') {
          inClass = true;
        } else if (text[j] === ']') {
          inClass = false;
        }
        j++;
      }
      blank(i + 1, j);
      i = j + 1;
      previous = '/';
    } else {
      if (!/\s/.test(c)) {
        previous = c;
      }
      i++;
    }
  }
  return out.join('');
}

const LAYER_CALL = /(?:\b[A-Za-z_$][\w$]*\s*\.\s*)?\blayers\s*\.\s*([A-Za-z_$][\w$]*)\s*\(/g;

/** Every `layers.<factory>(` call (usually `tf.layers.…`), in source order. */
export function findLayerCalls(text: string): LayerCall[] {
  const code = maskNonCode(text);
  const calls: LayerCall[] = [];
  for (const match of code.matchAll(LAYER_CALL)) {
    const factory = match[1];
    const offset = match.index ?? 0;
    const factoryOffset = offset + match[0].lastIndexOf(factory);
    const open = offset + match[0].length - 1;
    const call: LayerCall = { factory, offset, factoryOffset, factoryLength: factory.length };
    const name = nameOption(text, code, open);
    if (name) {
      Object.assign(call, name);
    }
    calls.push(call);
  }
  return calls;
}

/** The `name: '…'` property of the object literal that is the call's first argument. */
function nameOption(text: string, code: string, open: number): Pick<LayerCall, 'name' | 'nameOffset' | 'nameLength'> | undefined {
  let i = open + 1;
  while (i < code.length && /\s/.test(code[i])) {
    i++;
  }
  if (code[i] !== '{') {
    return undefined;
  }
  let depth = 0;
  for (let j = i; j < code.length; j++) {
    const c = code[j];
    if (c === '{' || c === '(' || c === '[') {
      depth++;
    } else if (c === '}' || c === ')' || c === ']') {
      depth--;
      if (depth === 0) {
        return undefined;
      }
    } else if (depth === 1 && /[\s{,]/.test(code[j - 1] ?? ' ')) {
      const property = /^name\s*:\s*(['"`])/.exec(code.slice(j, j + 40));
      if (property) {
        const quote = j + property[0].length - 1;
        const close = code.indexOf(property[1], quote + 1);
        const value = text.slice(quote + 1, close);
        if (close > quote && !value.includes('${')) {
          return { name: value, nameOffset: quote, nameLength: close - quote + 1 };
        }
        return undefined;
      }
    }
  }
  return undefined;
}

/** tf.layers factory -> Keras class name, compared case-insensitively (`maxPool2d` is MaxPooling2D). */
export function normalizeFactory(name: string): string {
  return name
    .toLowerCase()
    .replace(/avgpool(ing)?/, 'averagepooling')
    .replace(/maxpool(?!ing)/, 'maxpooling');
}

/**
 * Matches calls to the model's layers: by `name:` first (the full name, or the last part of a nested
 * `outer/inner` name when that is unique), then the remaining calls of each class by order of
 * creation when their count equals the remaining layers of that class.
 */
export function matchLayerCalls(calls: readonly LayerCall[], layers: readonly LayerInfo[]): MatchedLayerCall[] {
  const matched = new Map<number, LayerInfo>();
  const claimed = new Set<string>();
  calls.forEach((call, index) => {
    if (call.name === undefined) {
      return;
    }
    const exact = layers.find((layer) => layer.name === call.name);
    const byLeaf = layers.filter((layer) => layer.name.split('/').pop() === call.name);
    const layer = exact ?? (byLeaf.length === 1 ? byLeaf[0] : undefined);
    if (layer && !claimed.has(layer.name)) {
      matched.set(index, layer);
      claimed.add(layer.name);
    }
  });
  const byClass = new Map<string, { calls: number[]; layers: LayerInfo[] }>();
  const group = (key: string) => {
    let entry = byClass.get(key);
    if (!entry) {
      entry = { calls: [], layers: [] };
      byClass.set(key, entry);
    }
    return entry;
  };
  calls.forEach((call, index) => {
    if (call.name === undefined) {
      group(normalizeFactory(call.factory)).calls.push(index);
    }
  });
  for (const layer of layers) {
    // Input layers come from tf.input()/inputShape, not from a layers.* call (except layers.inputLayer).
    if (!claimed.has(layer.name) && byClass.has(layer.className.toLowerCase())) {
      group(layer.className.toLowerCase()).layers.push(layer);
    }
  }
  for (const { calls: indices, layers: candidates } of byClass.values()) {
    if (indices.length === candidates.length) {
      indices.forEach((callIndex, k) => matched.set(callIndex, candidates[k]));
    }
  }
  return calls.flatMap((call, index) => {
    const layer = matched.get(index);
    return layer ? [{ ...call, layer }] : [];
  });
}
