// The worker's side of layer inspection: activation pages, one channel at full size, filter pages and
// which layers offer them. Models come from the worker's model cache; activations stay cached per
// (model, image, layer) in the engine's ActivationCache, so paging and re-sorting never rerun the model.
import * as fs from 'fs';
import { ActivationCache, activationChannel, activationPage, describeLayerViews, filterPage, readFilterBank, type LoadedModel } from '../engine';
import type { HandlerContext } from '../protocol/messaging';
import type { ActivationChannel, ActivationPage, FilterPage, LayerViews, Progress, RgbaImage } from '../protocol/types';
import type { ActivationChannelWorkerRequest, ActivationPageWorkerRequest, FilterPageWorkerRequest, LayerInspectionRequest, LayerViewsRequest } from '../protocol/worker';

export interface InspectionDeps {
  /** Runs `work` with the cached model held, so a live-refresh reload cannot free it meanwhile. */
  withModel<T>(modelPath: string, work: (model: LoadedModel) => Promise<T>): Promise<T>;
  image(imagePath: string): Promise<RgbaImage>;
  progress(requestId: number, progress: Progress): void;
}

export class LayerInspection {
  private readonly activations = new ActivationCache();

  constructor(private readonly deps: InspectionDeps) {}

  handle(message: LayerInspectionRequest, context: HandlerContext): Promise<LayerViews[] | ActivationPage | ActivationChannel | FilterPage> {
    switch (message.type) {
      case 'layerViews':
        return this.layerViews(message);
      case 'activationPage':
        return this.activationPage(message, context);
      case 'activationChannel':
        return this.activationChannel(message, context);
      case 'filterPage':
        return this.filterPage(message);
    }
  }

  async layerViews(message: LayerViewsRequest): Promise<LayerViews[]> {
    return this.deps.withModel(message.modelPath, async (model) => describeLayerViews(model.model));
  }

  async activationPage(message: ActivationPageWorkerRequest, context: HandlerContext): Promise<ActivationPage> {
    const acts = await this.layerActivations(message.modelPath, message.imagePath, message.request.layer, context);
    return activationPage(acts, message.request);
  }

  async activationChannel(message: ActivationChannelWorkerRequest, context: HandlerContext): Promise<ActivationChannel> {
    const acts = await this.layerActivations(message.modelPath, message.imagePath, message.request.layer, context);
    return activationChannel(acts, message.request.channel);
  }

  async filterPage(message: FilterPageWorkerRequest): Promise<FilterPage> {
    return this.deps.withModel(message.modelPath, async (model) => filterPage(readFilterBank(model.model, message.request.layer), message.request));
  }

  private async layerActivations(modelPath: string, imagePath: string, layer: string, context: HandlerContext) {
    const key = await imageKey(imagePath);
    return this.deps.withModel(modelPath, (model) =>
      this.activations.get(model, key, () => this.deps.image(imagePath), layer, {
        signal: context.signal,
        onProgress: (progress) => this.deps.progress(context.id, progress),
      }),
    );
  }
}

/** The image's identity: path, size and modification time, so an edited image is a new image. */
async function imageKey(imagePath: string): Promise<string> {
  try {
    const stat = await fs.promises.stat(imagePath);
    return `${imagePath}\u0000${stat.size}\u0000${stat.mtimeMs}`;
  } catch {
    return imagePath; // reading it reports the missing file
  }
}
