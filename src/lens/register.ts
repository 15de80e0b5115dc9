// VS Code's side of CodeLens and hover on model files: a TF.js model.json (layer entries found by
// ./modelJsonLayers) and, when the workspace is trusted, a model defined in code (layer calls found
// by ./codeModelLayers). Summaries come from the engine through ./summaryCache, loaded when the
// file is first shown and reloaded when live refresh sees its files change.
import * as vscode from 'vscode';
import type { ModelSummary } from '../protocol/types';
import { layerHoverMarkdown, layerLenses, loadErrorLens, type LensSpec, type WrittenLayer } from './layerLenses';
import { findLayerEntries, looksLikeLayersModel } from './modelJsonLayers';
import type { ModelSummaryCache } from './summaryCache';

/** A model file kind: how to find its layers in the text, and whether to load it at all. */
export interface ModelFileKind {
  selector: vscode.DocumentSelector;
  /** The layers written in the document, with the range of each name (for hovers). */
  layers(document: vscode.TextDocument): (WrittenLayer & { nameOffset: number; nameLength: number })[] | undefined;
  /** Why this file is not loaded (e.g. code in an untrusted workspace), or undefined to load it. */
  blocked?(document: vscode.TextDocument): string | undefined;
}

export const modelJsonKind: ModelFileKind = {
  selector: [
    { scheme: 'file', language: 'json' },
    { scheme: 'file', pattern: '**/*.json' },
  ],
  layers(document) {
    const text = document.getText();
    if (!looksLikeLayersModel(text)) {
      return undefined;
    }
    return findLayerEntries(text).map((entry) => ({
      name: entry.name,
      className: entry.className,
      offset: entry.entryOffset,
      nameOffset: entry.nameOffset,
      nameLength: entry.nameLength,
    }));
  },
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
    const layers = this.kind.layers(document);
    if (!layers || layers.length === 0) {
      return [];
    }
    const modelPath = document.uri.fsPath;
    const blocked = this.kind.blocked?.(document);
    let specs: LensSpec[];
    if (blocked) {
      specs = [{ offset: layers[0].offset, title: `CNN Lens: ${blocked}`, tooltip: blocked }];
    } else {
      try {
        const summary = await this.cache.get(modelPath);
        specs = layerLenses(modelPath, layers, summary);
      } catch (error) {
        // The layers written in the file still get their lenses; Grad-CAM needs the loaded shapes.
        specs = [loadErrorLens(layers[0].offset, error instanceof Error ? error.message : String(error)), ...layerLenses(modelPath, layers, undefined)];
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
    const offset = document.offsetAt(position);
    const layer = this.kind.layers(document)?.find((l) => offset >= l.nameOffset && offset <= l.nameOffset + l.nameLength);
    if (!layer || this.kind.blocked?.(document)) {
      return undefined;
    }
    let summary: ModelSummary;
    try {
      summary = await this.cache.get(document.uri.fsPath);
    } catch (error) {
      return new vscode.Hover(`CNN Lens: the model does not load: ${error instanceof Error ? error.message : String(error)}`);
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
