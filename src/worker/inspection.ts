// The worker's side of layer inspection: activation pages, one channel at full size, filter pages and
// which layers offer them. Models come from the worker's model cache; activations stay cached per
// (model, image, layer) in the engine's ActivationCache, so paging and re-sorting never rerun the model.
import * as fs from 'fs';
import { ActivationCache, activationChannel, activationPage, describeLayerViews, filterPage, readFilterBank, shownClassName, type LoadedModel } from '../engine';
import type { HandlerContext } from '../shared/messaging';
import type { ActivationChannel, ActivationPage, FilterPage, LayerViews, Progress, RgbaImage } from '../shared/types';
import type { ActivationChannelWorkerRequest, ActivationPageWorkerRequest, FilterPageWorkerRequest, LayerViewsRequest } from '../shared/worker';

/** How a request waits for its model: its cancel ends the wait, the load reports progress to it. */
export interface ModelWait {
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
}

export interface InspectionDeps {
  /** Runs `work` with the cached model held, so a live-refresh reload cannot free it meanwhile. */
  withModel<T>(modelPath: string, work: (model: LoadedModel) => Promise<T>, wait: ModelWait): Promise<T>;
  /** The same for the model an image runs on (a PyTorch model may run at the image's own size). */
  withModelForImage<T>(modelPath: string, image: RgbaImage, work: (model: LoadedModel) => Promise<T>, wait: ModelWait): Promise<T>;
  image(imagePath: string): Promise<RgbaImage>;
  progress(requestId: number, progress: Progress): void;
}

export class LayerInspection {
  private readonly activations = new ActivationCache();

  constructor(private readonly deps: InspectionDeps) {}

  async layerViews(message: LayerViewsRequest, context: HandlerContext): Promise<LayerViews[]> {
    return this.deps.withModel(message.modelPath, async (model) => describeLayerViews(model.model), this.waitOf(context));
  }

  async activationPage(message: ActivationPageWorkerRequest, context: HandlerContext): Promise<ActivationPage> {
    const { acts, summary } = await this.layerActivations(message.modelPath, message.imagePath, message.request.layer, context);
    const page = activationPage(acts, message.request);
    return { ...page, className: shownClassName(summary, page.layer, page.className) };
  }

  async activationChannel(message: ActivationChannelWorkerRequest, context: HandlerContext): Promise<ActivationChannel> {
    const { acts } = await this.layerActivations(message.modelPath, message.imagePath, message.request.layer, context);
    return activationChannel(acts, message.request.channel);
  }

  async filterPage(message: FilterPageWorkerRequest, context: HandlerContext): Promise<FilterPage> {
    return this.deps.withModel(
      message.modelPath,
      async (model) => {
        const page = filterPage(readFilterBank(model.model, message.request.layer), message.request);
        return { ...page, className: shownClassName(model.summary, page.layer, page.className) };
      },
      this.waitOf(context),
    );
  }

  private async layerActivations(modelPath: string, imagePath: string, layer: string, context: HandlerContext) {
    const key = await imageKey(imagePath);
    // Decoded first (the worker keeps the last image): it decides which variant of a PyTorch model runs.
    const image = await this.deps.image(imagePath);
    return this.deps.withModelForImage(
      modelPath,
      image,
      async (model) => ({ acts: await this.activations.get(model, key, async () => image, layer, this.waitOf(context)), summary: model.summary }),
      this.waitOf(context),
    );
  }

  private waitOf(context: HandlerContext): ModelWait {
    return { signal: context.signal, onProgress: (progress) => this.deps.progress(context.id, progress) };
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
