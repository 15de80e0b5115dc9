// The host side of the panel's inspection tabs: answers the webview's requests from the engine
// worker for the panel's current model and image, and tells the panel each tab's status line and the
// layer it shows (for the title). No vscode import: the panel hands in what it owns.
import type { InspectActivationsRequest, InspectFiltersRequest, InspectModelInfo, InspectRequest } from '../../shared/inspectPanel';
import type { RequestHandlers } from '../../shared/messaging';
import { t } from '../../shared/l10n';
import { describeKind } from '../../shared/outputs';
import { backendForModel } from '../../shared/backendText';
import { activationsStatus, filtersStatus, modelStatus, type StatusLine } from '../../shared/statusLine';
import { baseName } from '../../shared/panel';
import { filterBankShape, type ActivationPage, type FilterPage } from '../../shared/types';
import type { EngineClient } from '../../workerClient/client';

export interface InspectHostDeps {
  engine: EngineClient;
  /** The panel's files now. */
  files(): { modelPath: string; imagePath: string };
  log(line: string): void;
  /** A tab's status line after it got its answer ('activations', 'filters', 'model'). */
  status?(tab: string, line: StatusLine): void;
  /** The layer a tab now shows, as the engine answered it (the webview may have asked for its default). */
  shown?(tab: 'activations' | 'filters', layer: string): void;
}

export class InspectHost {
  constructor(private readonly deps: InspectHostDeps) {}

  /** The panel's handlers for the inspection tabs' requests, each bound to its reply type. */
  readonly requests: RequestHandlers<InspectRequest> = {
    inspectModel: (_message, { signal }) => this.inspectModel(signal),
    inspectActivations: (message, { signal }) => this.inspectActivations(message, signal),
    inspectChannel: (message, { signal }) => {
      const { modelPath, imagePath } = this.deps.files();
      return this.deps.engine.activationChannel({ modelPath, imagePath, request: message.request }, { signal });
    },
    inspectFilters: (message, { signal }) => this.inspectFilters(message, signal),
  };

  private async inspectModel(signal: AbortSignal): Promise<InspectModelInfo> {
    const { modelPath, imagePath } = this.deps.files();
    const { engine } = this.deps;
    const started = Date.now();
    const info = await this.modelInfo(modelPath, imagePath, signal);
    this.deps.status?.(
      'model',
      modelStatus({
        name: info.name,
        layerCount: info.layers.length,
        totalParams: info.totalParams,
        backend: engine.currentBackend ? backendForModel(engine.currentBackend, info.format).backend : info.backend,
        backendDetail: info.backend,
        formatDetail: info.formatDetail,
        ms: Date.now() - started,
      }),
    );
    return info;
  }

  private async inspectActivations(message: InspectActivationsRequest, signal: AbortSignal): Promise<ActivationPage> {
    const { modelPath, imagePath } = this.deps.files();
    const { engine } = this.deps;
    const started = Date.now();
    const page = await engine.activationPage({ modelPath, imagePath, request: message.request }, { signal });
    const ms = Date.now() - started;
    this.deps.log(
      `[activations] ${message.request.layer} page ${page.page + 1}/${page.pageCount}: ${page.channels.length} of ${page.channelCount} channels, ` +
        `${page.maps.byteLength} bytes, ${ms} ms`,
    );
    this.deps.shown?.('activations', page.layer);
    this.deps.status?.(
      'activations',
      activationsStatus({
        layer: page.layer,
        className: page.className,
        kind: page.kind,
        channelCount: page.channelCount,
        deadCount: page.deadCount,
        width: page.width,
        height: page.height,
        ms,
        // Layer views run on the tfjs backend, also when ONNX Runtime runs the model's explanations.
        backend: engine.currentBackend ? backendForModel(engine.currentBackend, '', true).backend : '',
        imageName: baseName(imagePath),
      }),
    );
    return page;
  }

  private async inspectFilters(message: InspectFiltersRequest, signal: AbortSignal): Promise<FilterPage> {
    const { modelPath } = this.deps.files();
    const started = Date.now();
    const page = await this.deps.engine.filterPage({ modelPath, request: message.request }, { signal });
    const ms = Date.now() - started;
    const shape = `[${filterBankShape(page.layout, page.kernelHeight, page.kernelWidth, page.inputChannels, page.filterCount).join(', ')}]`;
    this.deps.log(`[filters] ${page.layer} page ${page.page + 1}/${page.pageCount}: ${page.filters.length} of ${page.filterCount} filters ${shape} ${page.layout}, ${ms} ms`);
    this.deps.shown?.('filters', page.layer);
    this.deps.status?.(
      'filters',
      filtersStatus({ layer: page.layer, className: page.className, filterCount: page.filterCount, shape, layout: page.layout, ms, modelName: baseName(modelPath) }),
    );
    return page;
  }

  private async modelInfo(modelPath: string, imagePath: string, signal: AbortSignal): Promise<InspectModelInfo> {
    const { engine } = this.deps;
    const backend = await engine.backendReport(signal);
    const summary = await engine.loadModel(modelPath, { signal });
    const views = await engine.layerViews(modelPath, { signal });
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
      outputsText: summary.outputs.length > 1 ? t('{0} outputs', summary.outputs.length) : describeKind(summary.outputs[0]),
      backend: backendForModel(backend, summary.format).detail,
      defaultCamLayer: summary.defaultCamLayer,
      layers: summary.layers,
      views,
    };
  }
}
