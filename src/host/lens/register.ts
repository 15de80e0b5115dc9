// VS Code's side of CodeLens and hover on model files: a TF.js model.json (layer entries found by
// ./modelJsonLayers) and, when the workspace is trusted, a model defined in code (layer calls found
// by ./codeModelLayers). Summaries come from the engine through ./summaryCache, loaded when the
// file is first shown and reloaded when live refresh sees its files change.
import * as vscode from 'vscode';
import type { ModelSummary } from '../../shared/types';
import { layerHoverMarkdown, layerLenses, loadErrorLens, type LensSpec, type WrittenLayer } from './layerLenses';
import { CODE_MODEL_GLOB, isCodeModelName, UntrustedCodeModelError } from '../codeModels/trust';
import { findLayerCalls, matchLayerCalls } from './codeModelLayers';
import { findLayerEntries, looksLikeLayersModel } from './modelJsonLayers';
import type { ModelSummaryCache } from './summaryCache';

/** A model file kind: how to find its layers in the text, and whether to load it at all. */
export interface ModelFileKind {
  selector: vscode.DocumentSelector;
  /**
   * The layers written in the document, with the range of each name (for hovers); undefined when
   * the document is not a model of this kind. `summary` is the loaded model when known (code
   * models need it to tell which call made which layer).
   */
  layers(document: vscode.TextDocument, summary: ModelSummary | undefined): LocatedLayer[] | undefined;
  /** Cheap check before loading anything: is this document a model of this kind? */
  isModel(document: vscode.TextDocument): boolean;
  /** Why this file is not loaded (e.g. code in an untrusted workspace), or undefined to load it. */
  blocked?(document: vscode.TextDocument): string | undefined;
}

type LocatedLayer = WrittenLayer & { nameOffset: number; nameLength: number };

export const modelJsonKind: ModelFileKind = {
  selector: [
    { scheme: 'file', language: 'json' },
    { scheme: 'file', pattern: '**/*.json' },
  ],
  isModel: (document) => looksLikeLayersModel(document.getText()),
  layers(document) {
    const text = document.getText();
    if (!looksLikeLayersModel(text)) {
      return undefined;
    }
    return findLayerEntries(text).map((entry) => ({
      name: entry.name,
      className: entry.className,
      offset: entry.lensOffset,
      nameOffset: entry.nameOffset,
      nameLength: entry.nameLength,
    }));
  },
};

/** `*.model.ts|js` files (src/host/codeModels/trust.ts): layer calls matched to the loaded model's layers. */
export const codeModelKind: ModelFileKind = {
  selector: [{ scheme: 'file', pattern: CODE_MODEL_GLOB }],
  isModel: (document) => isCodeModelName(document.uri.fsPath),
  layers(document, summary) {
    if (!isCodeModelName(document.uri.fsPath)) {
      return undefined;
    }
    const calls = findLayerCalls(document.getText());
    if (!summary) {
      // Not loaded (yet, or it fails): the calls that name their layer still get lenses.
      return calls.flatMap((call) =>
        call.name !== undefined && call.nameOffset !== undefined && call.nameLength !== undefined
          ? [{ name: call.name, className: call.factory, offset: call.offset, nameOffset: call.nameOffset, nameLength: call.nameLength }]
          : [],
      );
    }
    return matchLayerCalls(calls, summary.layers).map((call) => ({
      name: call.layer.name,
      className: call.layer.className,
      offset: call.offset,
      nameOffset: call.nameOffset ?? call.factoryOffset,
      nameLength: call.nameLength ?? call.factoryLength,
    }));
  },
  blocked: (document) => (vscode.workspace.isTrusted ? undefined : new UntrustedCodeModelError(vscode.workspace.asRelativePath(document.uri)).message),
};

class ModelFileLensProvider implements vscode.CodeLensProvider, vscode.HoverProvider {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;

  constructor(
    private readonly kind: ModelFileKind,
    private readonly cache: ModelSummaryCache,
  ) {}

  fire(): void {
    this.changed.fire();
  }

  dispose(): void {
    this.changed.dispose();
  }

  async provideCodeLenses(document: vscode.TextDocument, token: vscode.CancellationToken): Promise<vscode.CodeLens[]> {
    if (!this.kind.isModel(document)) {
      return [];
    }
    const modelPath = document.uri.fsPath;
    const blocked = this.kind.blocked?.(document);
    let specs: LensSpec[];
    if (blocked) {
      const first = this.kind.layers(document, undefined)?.[0]?.offset ?? 0;
      specs = [{ offset: first, title: 'CNN Lens: model code runs only in a trusted workspace', tooltip: blocked, command: 'workbench.trust.manage' }];
    } else {
      try {
        const summary = await this.cache.get(modelPath);
        specs = layerLenses(modelPath, this.kind.layers(document, summary) ?? [], summary);
      } catch (error) {
        // The layers written in the file still get their lenses; Grad-CAM needs the loaded shapes.
        const layers = this.kind.layers(document, undefined) ?? [];
        specs = [loadErrorLens(layers[0]?.offset ?? 0, error instanceof Error ? error.message : String(error)), ...layerLenses(modelPath, layers, undefined)];
      }
    }
    if (token.isCancellationRequested) {
      return [];
    }
    return specs.map((spec) => {
      const position = document.positionAt(spec.offset);
      const range = new vscode.Range(position.line, 0, position.line, 0);
      return new vscode.CodeLens(range, {
        title: spec.title,
        tooltip: spec.tooltip,
        command: spec.command ?? '',
        arguments: spec.arguments,
      });
    });
  }

  async provideHover(document: vscode.TextDocument, position: vscode.Position): Promise<vscode.Hover | undefined> {
    if (!this.kind.isModel(document) || this.kind.blocked?.(document)) {
      return undefined;
    }
    const offset = document.offsetAt(position);
    const within = (layers: LocatedLayer[] | undefined) => layers?.find((l) => offset >= l.nameOffset && offset <= l.nameOffset + l.nameLength);
    // Cheap first: no engine work unless the pointer is on a layer written in the file (before the
    // first load, code models only know the calls that name their layer; the lenses load it anyway).
    const loaded = this.cache.peek(document.uri.fsPath);
    if (!within(this.kind.layers(document, loaded))) {
      return undefined;
    }
    let summary: ModelSummary;
    try {
      summary = await this.cache.get(document.uri.fsPath);
    } catch (error) {
      return new vscode.Hover(`CNN Lens: the model does not load: ${error instanceof Error ? error.message : String(error)}`);
    }
    const layer = within(this.kind.layers(document, summary));
    if (!layer) {
      return undefined;
    }
    const info = summary.layers.find((l) => l.name === layer.name);
    if (!info) {
      return new vscode.Hover(`CNN Lens: **${layer.name}** is not in the saved model (save the file to load it).`);
    }
    const range = new vscode.Range(document.positionAt(layer.nameOffset), document.positionAt(layer.nameOffset + layer.nameLength));
    return new vscode.Hover(new vscode.MarkdownString(layerHoverMarkdown(info, summary)), range);
  }
}

/** Registers CodeLens + hover for each kind; lenses refresh when a model's summary is dropped. */
export function registerModelLenses(cache: ModelSummaryCache, kinds: readonly ModelFileKind[]): vscode.Disposable {
  const disposables: vscode.Disposable[] = [];
  const providers: ModelFileLensProvider[] = [];
  for (const kind of kinds) {
    const provider = new ModelFileLensProvider(kind, cache);
    providers.push(provider);
    disposables.push(provider, vscode.languages.registerCodeLensProvider(kind.selector, provider), vscode.languages.registerHoverProvider(kind.selector, provider));
  }
  const refreshAll = () => providers.forEach((p) => p.fire());
  disposables.push(
    cache.onDidChange(refreshAll),
    // A closed model file is no longer followed (its watch ends); open it again to reload.
    vscode.workspace.onDidCloseTextDocument((document) => {
      if (document.uri.scheme === 'file' && kinds.some((kind) => vscode.languages.match(kind.selector, document) > 0)) {
        cache.forget(document.uri.fsPath);
      }
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(refreshAll),
  );
  return vscode.Disposable.from(...disposables);
}
