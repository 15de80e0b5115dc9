// The host side of the panel's inspection tabs: answers the webview's requests from the engine
// worker for the panel's current model and image. No vscode import: the panel hands in what it owns.
import { colormapLut, divergingLut } from '../engine/colormap';
import type { InspectModelInfo, InspectRequest } from '../protocol/inspectPanel';
import { describeKind } from '../protocol/outputs';
import type { ActivationChannel, ActivationPage, FilterPage } from '../protocol/types';
import type { EngineClient } from '../worker/client';

const ACTIVATION_COLORMAP = 'viridis';
const FILTER_COLORMAP = 'coolwarm';

export interface InspectHostDeps {
  engine: EngineClient;
  /** The panel's files now. */
  files(): { modelPath: string; imagePath: string };
  log(line: string): void;
}

export class InspectHost {
  constructor(private readonly deps: InspectHostDeps) {}

  handle(message: InspectRequest, signal: AbortSignal): Promise<InspectModelInfo | ActivationPage | ActivationChannel | FilterPage> {
    const { modelPath, imagePath } = this.deps.files();
    const { engine } = this.deps;
    switch (message.type) {
      case 'inspectModel':
        return this.modelInfo(modelPath, imagePath, signal);
      case 'inspectActivations': {
        const started = Date.now();
        return engine.activationPage({ modelPath, imagePath, request: message.request }, { signal }).then((page) => {
          this.deps.log(
            `[activations] ${message.request.layer} page ${page.page + 1}/${page.pageCount}: ${page.channels.length} of ${page.channelCount} channels, ` +
              `${page.maps.byteLength} bytes, ${Date.now() - started} ms`,
          );
          return page;
        });
      }
      case 'inspectChannel':
        return engine.activationChannel({ modelPath, imagePath, request: message.request }, { signal });
      case 'inspectFilters':
        return engine.filterPage({ modelPath, request: message.request }, { signal });
    }
  }

  private async modelInfo(modelPath: string, imagePath: string, signal: AbortSignal): Promise<InspectModelInfo> {
    const { engine } = this.deps;
    const backend = await engine.backendReport(signal);
    const summary = await engine.loadModel(modelPath, { signal });
    const views = await engine.layerViews(modelPath, { signal });
    const skipped = backend.detail.indexOf(' (skipped:');
    return {
      modelPath,
      imagePath,
      name: summary.name,
      format: summary.format,
      ...(summary.formatDetail ? { formatDetail: summary.formatDetail } : {}),
      ...(summary.shapeOrder ? { shapeOrder: summary.shapeOrder } : {}),
      inputShape: summary.inputShape,
      totalParams: summary.totalParams,
      numClasses: summary.numClasses,
      outputsText: summary.outputs.length > 1 ? `${summary.outputs.length} outputs` : describeKind(summary.outputs[0]),
      backend: skipped >= 0 ? backend.detail.slice(0, skipped) : backend.detail,
      defaultCamLayer: summary.defaultCamLayer,
      layers: summary.layers,
      views,
      // Copies: the tables are shared module constants, and posting may detach a buffer.
      activationLut: colormapLut(ACTIVATION_COLORMAP).slice(),
      activationColormap: ACTIVATION_COLORMAP,
      filterLut: divergingLut(FILTER_COLORMAP).slice(),
      filterColormap: FILTER_COLORMAP,
    };
  }
}
