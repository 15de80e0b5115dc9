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
  /**
   * Files the model was built from besides model.json's folder, so live refresh can follow them:
   * for a model defined in code, the bundled sources and the weight files it loaded.
   */
  sourceFiles?: string[];
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

// ---------------------------------------------------------------------------------------------
// Layer inspection: activation maps and filter grids (issue 3). Pictures travel as 8-bit maps
// (Uint8Array) that the receiver colours through a 256-entry lookup table; statistics as
// Float32Array. A page never carries more than MAX_INSPECTION_PAGE_BYTES of pixels, so a
// 2048-channel layer costs the same per page as a 16-channel one.

/** Upper bound of the pixel bytes (maps or tiles) of one activation or filter page. */
export const MAX_INSPECTION_PAGE_BYTES = 512 * 1024;

/** How a layer's output can be drawn: one h×w map per channel, or one value per unit (2-D outputs). */
export type ActivationKind = 'maps' | 'units';
export const ACTIVATION_SORTS = ['index', 'mean', 'max'] as const;
export type ActivationSort = (typeof ACTIVATION_SORTS)[number];
/** `channel`: each map spans its own min..max; `shared`: all maps span the layer's min..max. */
export const ACTIVATION_SCALES = ['channel', 'shared'] as const;
export type ActivationScale = (typeof ACTIVATION_SCALES)[number];

export interface ActivationPageRequest {
  /** Listed layer name (LayerInfo.name; `outer/inner` inside nested models). */
  layer: string;
  /** 0-based page of the listed (sorted, filtered) channels; clamped to the last page. */
  page?: number;
  /** Channels per page; lowered when the page would exceed MAX_INSPECTION_PAGE_BYTES. */
  pageSize?: number;
  /** Default `index` for maps; units are always listed top first unless `index` is asked for. */
  sort?: ActivationSort;
  hideDead?: boolean;
  scale?: ActivationScale;
}

export interface ActivationPage {
  layer: string;
  className: string;
  kind: ActivationKind;
  /** The layer output's spatial size (1×1 for units). */
  height: number;
  width: number;
  channelCount: number;
  /** Channels whose output is exactly zero everywhere (a dead ReLU). */
  deadCount: number;
  /** Channels listed after hiding dead ones (channelCount when they are shown). */
  listedCount: number;
  page: number;
  pageSize: number;
  pageCount: number;
  sort: ActivationSort;
  scale: ActivationScale;
  hideDead: boolean;
  /** The layer's overall minimum and maximum. */
  layerMin: number;
  layerMax: number;
  /** Channel (unit) indices on this page, in display order. */
  channels: Int32Array;
  /** Per channel on this page: min, mean, max of its map (for units all three are its value). */
  min: Float32Array;
  mean: Float32Array;
  max: Float32Array;
  /** Per channel on this page: the values drawn as 0 and 255. */
  low: Float32Array;
  high: Float32Array;
  /** Tile size: the map size, or smaller (area-averaged) when the map is larger than a grid tile needs. */
  tileHeight: number;
  tileWidth: number;
  /** channels.length tiles of tileHeight × tileWidth bytes, row-major; empty for units. */
  maps: Uint8Array;
}

export interface ActivationChannelRequest {
  layer: string;
  channel: number;
}

/** One channel at the layer's full resolution, for the large view over the image. */
export interface ActivationChannel {
  layer: string;
  channel: number;
  height: number;
  width: number;
  min: number;
  mean: number;
  max: number;
  /** height × width bytes: the channel's min..max as 0..255. */
  map: Uint8Array;
}

/** What a layer's weights are drawn as. `dense-image`: a first Dense layer over a flattened image input. */
export type FilterKind = 'conv2d' | 'depthwise' | 'separable' | 'dense-image';
/** `rgb`: one colour patch per filter (3 input channels); `mean`: the mean over input channels; `channels`: a tile per input channel. */
export const FILTER_MODES = ['rgb', 'mean', 'channels'] as const;
export type FilterMode = (typeof FILTER_MODES)[number];
/** `filter`: each filter spans its own ±max|w|; `shared`: all filters span the layer's. */
export const FILTER_SCALES = ['filter', 'shared'] as const;
export type FilterScale = (typeof FILTER_SCALES)[number];

export interface FilterPageRequest {
  layer: string;
  /** Default: `rgb` where the layer's input has 3 channels, else `mean`. */
  mode?: FilterMode;
  scale?: FilterScale;
  page?: number;
  /** Filters per page; lowered when the page would exceed MAX_INSPECTION_PAGE_BYTES. */
  pageSize?: number;
  /** `channels` mode: which page of input channels. */
  inputPage?: number;
  /** `channels` mode: input channels per filter shown at once (default 16). */
  inputsPerPage?: number;
}

export interface FilterPage {
  layer: string;
  className: string;
  kind: FilterKind;
  kernelHeight: number;
  kernelWidth: number;
  /** Input channels each filter sees (1 for depthwise kernels, drawn per channel). */
  inputChannels: number;
  filterCount: number;
  /** Modes this layer can be drawn in. */
  modes: FilterMode[];
  mode: FilterMode;
  scale: FilterScale;
  page: number;
  pageSize: number;
  pageCount: number;
  inputPage: number;
  inputPageCount: number;
  /** `channels` mode: the input channels drawn for every filter on this page; else empty. */
  inputs: Int32Array;
  /** Filter indices on this page. */
  filters: Int32Array;
  /** Tiles per filter: 1, or inputs.length in `channels` mode. */
  tilesPerFilter: number;
  /** 3 in `rgb` mode (RGB triples), else 1. */
  tileChannels: 1 | 3;
  /**
   * filters.length × tilesPerFilter tiles of kernelHeight × kernelWidth × tileChannels bytes,
   * row-major. Signed: byte = round(127.5 + 127.5 · w / bound), so 128 is zero.
   */
  tiles: Uint8Array;
  /** Per filter on this page: min and max of the values this mode draws. */
  min: Float32Array;
  max: Float32Array;
  /** Per filter on this page: the |w| drawn as 0 and 255. */
  bound: Float32Array;
}

/** Which views a layer offers: activations (by output rank) and filters (by weights). */
export interface LayerViews {
  name: string;
  activations: ActivationKind | null;
  filters: FilterKind | null;
}
