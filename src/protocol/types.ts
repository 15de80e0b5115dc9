// Result and description types shared by the engine, the worker, the extension host, the webview
// and the CLI. Pure data: no tfjs, no vscode, no DOM. Large numeric payloads are typed arrays so
// they can be transferred between threads and posted to the webview without becoming JSON arrays.

/** What the user asks for: `auto` = tfjs-node if it loads, else wasm, else cpu. */
export type BackendChoice = 'auto' | 'node' | 'wasm' | 'cpu';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'node', 'wasm', 'cpu'];

/** What actually runs. `node` is @tensorflow/tfjs-node (libtensorflow). */
export type BackendName = 'node' | 'wasm' | 'cpu';

export const COLORMAPS = ['jet', 'turbo', 'viridis', 'inferno'] as const;
export type ColormapName = (typeof COLORMAPS)[number];

/** Methods the engine can run. Later issues extend this list through the method registry. */
export const METHOD_NAMES = ['gradcam'] as const;
export type MethodName = (typeof METHOD_NAMES)[number];

/** An 8-bit RGBA image, row-major, 4 bytes per pixel. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** A single-channel float map, row-major. */
export interface Map2D {
  width: number;
  height: number;
  data: Float32Array;
}

export interface LayerInfo {
  /** Unique, selectable name. Layers inside a nested model are named `outer/inner`. */
  name: string;
  /** Keras/tfjs class name, e.g. `Conv2D`, `DepthwiseConv2D`, `Functional`. */
  className: string;
  /** Output shape with the batch dimension as null, e.g. [null, 14, 14, 32]. */
  outputShape: (number | null)[];
  params: number;
  trainable: boolean;
  /** True when the output is 4-D (N, H, W, C): such a layer can be a CAM target layer. */
  spatial: boolean;
  /** 0 for top-level layers, 1 for layers inside a nested model, and so on. */
  depth: number;
  /** Name of the enclosing nested model layer, when depth > 0. */
  parent?: string;
}

export interface Preprocessing {
  /** Per-channel mean subtracted after scaling to [0,1]; length 1 or the model's channel count. */
  mean?: number[];
  /** Per-channel standard deviation divided after subtracting the mean. */
  std?: number[];
}

/**
 * Model file formats: a TF.js LayersModel or graph model (model.json), ONNX (.onnx, e.g. from
 * torch.onnx.export), Keras 3 (.keras zip) and Keras 2 HDF5 (.h5).
 */
export type ModelFormat = 'layers-model' | 'graph-model' | 'onnx' | 'keras' | 'keras-h5';

export interface ModelSummary {
  /** Absolute path of the model file (model.json, .onnx, .keras, .h5). */
  path: string;
  format: ModelFormat;
  /** One line about the file beyond this summary (e.g. ONNX opset, producer, layout), if any. */
  formatDetail?: string;
  name: string;
  /** Model input as [height, width, channels]. */
  inputShape: [number, number, number];
  layers: LayerInfo[];
  labels: string[];
  /** Where the labels came from (a file path) or null when they are the default "class N". */
  labelsSource: string | null;
  preprocessing: Preprocessing;
  /** Path of the cnn-lens.json sidecar that was applied, if any. */
  sidecar: string | null;
  /** The layer Grad-CAM uses when none is chosen: the last 4-D layer before the head. */
  defaultCamLayer: string;
  /** True when the output applies softmax (the engine then differentiates the pre-softmax score). */
  outputSoftmax: boolean;
  totalParams: number;
  numClasses: number;
}

export interface Prediction {
  index: number;
  label: string;
  /** Softmax probability. */
  probability: number;
  /** Pre-softmax score (logit). */
  score: number;
}

export interface ExplainRequest {
  method: MethodName;
  /** Layer name as in LayerInfo.name; default: ModelSummary.defaultCamLayer. */
  layer?: string;
  /** Class index; default: the top-1 prediction. */
  classIndex?: number;
  /** How many predictions to return (default 5). */
  topK?: number;
}

export interface CamResult {
  method: MethodName;
  backend: BackendName;
  layer: string;
  classIndex: number;
  className: string;
  /** Pre-softmax score of the explained class. */
  score: number;
  predictions: Prediction[];
  /** Normalised map in [0,1] at the model input size. */
  cam: Map2D;
  /** Raw ReLU map at the layer's resolution (before normalisation). */
  layerCam: Map2D;
  /** Milliseconds per stage, for logs and benchmarks. */
  timings: Record<string, number>;
}

/** Progress of a long request; fraction in [0,1] when known. */
export interface Progress {
  message: string;
  fraction?: number;
}
