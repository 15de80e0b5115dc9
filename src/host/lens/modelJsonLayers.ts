// Where each layer of a TF.js LayersModel is written in its model.json, for CodeLens and hover.
// The text is parsed with jsonc-parser (the parser VS Code uses for its own JSON support), which
// keeps every node's offset and tolerates a half-typed file, so lenses stay put while the user edits.
// Names follow src/engine/execution/layers.ts: a layer inside a nested model is `outer/inner`.
// No `vscode` import: tested on the sample model.json in test/unit/layerLenses.test.ts.
import { findNodeAtLocation, getNodeValue, parseTree, type Node } from 'jsonc-parser';

export interface LayerEntryLocation {
  /** The selectable name, `outer/inner` inside nested models. */
  name: string;
  className: string;
  /** Offset of the layer object's `{`. */
  entryOffset: number;
  /**
   * Where the CodeLens goes: the layer's first property (`"class_name": …`). A lens above the `{`
   * line sits right under the previous layer's closing lines and reads as theirs; in a file on one
   * line both are the same line.
   */
  lensOffset: number;
  /** The `"name"` string value (quotes included): the hover range. */
  nameOffset: number;
  nameLength: number;
  depth: number;
}

/** Keras classes whose config holds layers of their own. */
const NESTED_MODEL_CLASSES = new Set(['Sequential', 'Functional', 'Model']);

/** True when the text is (or looks like, while half-typed) a TF.js LayersModel model.json. */
export function looksLikeLayersModel(text: string): boolean {
  return text.includes('"modelTopology"');
}

/**
 * Every layer entry of the model.json text, in file order, nested models' layers after the model.
 * A file that is not a LayersModel, or too broken to find `modelTopology`, gives no entries.
 */
export function findLayerEntries(text: string): LayerEntryLocation[] {
  const root = parseTree(text, [], { allowTrailingComma: true, disallowComments: false });
  if (!root) {
    return [];
  }
  const topology = findNodeAtLocation(root, ['modelTopology']);
  if (!topology || topology.type !== 'object') {
    return [];
  }
  // Keras writes { class_name, config }; converted files may wrap it in { model_config: … }.
  const model = findNodeAtLocation(topology, ['model_config']) ?? topology;
  const entries: LayerEntryLocation[] = [];
  visitModel(model, [], entries);
  return entries;
}

function visitModel(model: Node, parents: string[], entries: LayerEntryLocation[]): void {
  const config = findNodeAtLocation(model, ['config']);
  if (!config) {
    return;
  }
  // Sequential's config is { name, layers } (or, in old files, the layer array itself).
  const layers = config.type === 'array' ? config : findNodeAtLocation(config, ['layers']);
  if (!layers || layers.type !== 'array') {
    return;
  }
  for (const layer of layers.children ?? []) {
    if (layer.type !== 'object') {
      continue;
    }
    const classNode = findNodeAtLocation(layer, ['class_name']);
    const nameNode = findNodeAtLocation(layer, ['config', 'name']) ?? findNodeAtLocation(layer, ['name']);
    const className = classNode?.type === 'string' ? String(getNodeValue(classNode)) : undefined;
    if (!className || nameNode?.type !== 'string') {
      continue; // being typed: no lens until it has a class and a name
    }
    const name = String(getNodeValue(nameNode));
    const path = [...parents, name];
    entries.push({
      name: path.join('/'),
      className,
      entryOffset: layer.offset,
      lensOffset: layer.children?.[0]?.offset ?? layer.offset,
      nameOffset: nameNode.offset,
      nameLength: nameNode.length,
      depth: parents.length,
    });
    if (NESTED_MODEL_CLASSES.has(className)) {
      visitModel(layer, path, entries);
    }
  }
}
