// Messages between the extension host (src/workerClient/client.ts) and the engine worker
// (src/worker/engineWorker.ts). Requests carry their answer type through RequestBase<R>.

import type { RequestBase } from './messaging';
import type { CompareEstimate } from './compareEstimate';
import type {
  ActivationChannel,
  ActivationChannelRequest,
  ActivationPage,
  ActivationPageRequest,
  FilterPage,
  FilterPageRequest,
  LayerViews,
  BackendChoice,
  BackendName,
  CamResult,
  ColormapName,
  ExplainRequest,
  IndexedMap,
  Map2D,
  MethodName,
  ModelSummary,
  Preprocessing,
  Progress,
  PythonChoice,
  RgbaImage,
} from './types';

export interface BackendReport {
  backend: BackendName;
  /** Human-readable detail, e.g. "wasm (SIMD, 1 thread)" or why a preferred backend was skipped. */
  detail: string;
  /** With backend onnxruntime: the tfjs backend that runs other formats and the layer views (backendText.ts backendForModel). */
  tfjs?: BackendName;
}

/** Must be the first request: selects and initialises the tfjs backend. */
export interface InitRequest extends RequestBase<BackendReport> {
  type: 'init';
  backend: BackendChoice;
  /** Folder holding tfjs-backend-wasm's .wasm files (next to the bundle). */
  wasmDir: string;
  /** Helper engines for sampling methods: workers started like this one (src/worker/helperEngines.ts). */
  samplePool?: SamplePoolSpec;
  /** How PyTorch models run (src/engine/models/pytorch/). */
  pytorch?: PytorchSettings;
  /** Images over this many pixels are refused from their header (default: the engine's). */
  maxImagePixels?: number;
}

export interface PytorchSettings {
  /** The interpreter; without a path, the first python3/python on the PATH that has torch. */
  python?: PythonChoice;
  /** Where exports are kept (the extension: its global storage); default the user's cache folder. */
  exportCacheDir?: string;
}

export interface SamplePoolSpec {
  /** How many helper workers (each loads the model again). */
  helpers: number;
  /** How to start one: the same bundle and options as the worker receiving this. */
  workerPath: string;
  workerData?: unknown;
  execArgv?: string[];
}

/** One part of a sampling batch, as the engine (src/engine/explain/samplePool.ts) hands it to a helper. */
export interface SamplePart {
  /** d(class score)/d(input), the class score, or every pre-softmax score (the metrics' probabilities). */
  pass: 'inputGradients' | 'classScores' | 'logits';
  /** NHWC inputs in the model's input space, [n, h, w, c]. */
  batch: Float32Array;
  shape: [number, number, number, number];
  classIndex: number;
  /** Guided backpropagation through ReLUs (inputGradients only). */
  guided?: boolean;
  /** The output explained (its index in the loaded model's outputs): a helper runs that output's model. */
  output?: number;
}

/** Part of a sampling batch computed for another engine worker (see src/engine/explain/samplePool.ts). */
export interface SamplePassRequest extends RequestBase<Float32Array> {
  type: 'samplePass';
  modelPath: string;
  preprocessing?: Preprocessing;
  allowCode?: boolean;
  /** The PyTorch variant at an image's own size that the requesting worker runs, if any. */
  input?: [number, number, number];
  part: SamplePart;
}

/** Loads (or returns the cached) model; `reload` forces a fresh read from disk. */
export interface LoadModelRequest extends RequestBase<ModelSummary> {
  type: 'loadModel';
  /** model.json (LayersModel or graph model) or its folder, .onnx, .keras or .h5 (see modelFormats.ts). */
  modelPath: string;
  /** Overrides the sidecar's preprocessing (CLI flags / settings). */
  preprocessing?: Preprocessing;
  reload?: boolean;
  /**
   * A model defined in code (.ts/.js) or a PyTorch model (.py, .pt) executes that code: the worker
   * loads one only when this is true (the extension sets it in trusted workspaces only; see
   * src/host/codeModels/trust.ts).
   */
  allowCode?: boolean;
  /** A PyTorch model's variant at an image's own size, [channels, height, width] (helper workers). */
  input?: [number, number, number];
}

/**
 * The image as the panel shows it (src/render/display.ts), made once per decoded file. `key` names
 * that file's version (path, size, modification time): the host and the page keep the image by it,
 * so a request that says it holds this key (`knownImageKey`) gets no image again.
 */
export interface DisplayImage {
  key: string;
  /** The decoded file's own size (Export's resolution). */
  originalWidth: number;
  originalHeight: number;
  /** At most DISPLAY_MAX_SIDE on its longest side; absent when the request holds `key` already. */
  image?: RgbaImage;
}

export interface ExplainImageResult {
  result: CamResult;
  /** The CAM at the display image's size, quantised once (src/render/overlay.ts indexedCam): the page colours it. */
  map: IndexedMap;
  display: DisplayImage;
}

export interface ExplainImageRequest extends RequestBase<ExplainImageResult> {
  type: 'explain';
  modelPath: string;
  imagePath: string;
  request: ExplainRequest;
  preprocessing?: Preprocessing;
  /** The display image the caller holds: not sent again when the file is still that one. */
  knownImageKey?: string;
}

/** One method's result in a comparison (issue 4): the method's own wall time, and its metrics' apart. */
export interface ComparedResult {
  method: MethodName;
  result: CamResult;
  /** The method alone (its map and predictions). */
  timeMs: number;
  /** Its faithfulness metrics, when asked. */
  metricsMs?: number;
}

export interface CompareImageResult {
  results: ComparedResult[];
  /** Each result's map at the display image's size, in the same order (as ExplainImageResult.map). */
  maps: IndexedMap[];
  display: DisplayImage;
}

/** Several methods on one image for the same class (default: the first method's top-1) and layer. */
export interface CompareImageRequest extends RequestBase<CompareImageResult> {
  type: 'compare';
  modelPath: string;
  imagePath: string;
  methods: MethodName[];
  request: Omit<ExplainRequest, 'method'>;
  preprocessing?: Preprocessing;
  /** As ExplainImageRequest's. */
  knownImageKey?: string;
}

/** How long a `compare` with these methods would take (protocol/compareEstimate.ts), from one forward pass measured now. */
export interface EstimateCompareRequest extends RequestBase<EstimateCompareResult> {
  type: 'estimateCompare';
  modelPath: string;
  imagePath: string;
  methods: MethodName[];
  request: Omit<ExplainRequest, 'method'>;
  preprocessing?: Preprocessing;
}

export interface EstimateCompareResult {
  estimate: CompareEstimate;
  /** The CAM layer the methods would use (Score-CAM's channels are its channels). */
  layer?: string;
}

export interface DisposeModelRequest extends RequestBase<void> {
  type: 'disposeModel';
  modelPath: string;
}

/** Tensor and memory counts, for leak checks and the output channel. */
export interface MemoryReport {
  numTensors: number;
  numBytes: number;
}
export interface MemoryRequest extends RequestBase<MemoryReport> {
  type: 'memory';
}

/**
 * Export: the map blended over the image at the image's own resolution, encoded as PNG, all in the
 * worker (which holds the decoded image): the host sends the map and the appearance, never pixels.
 */
export interface ExportOverlayRequest extends RequestBase<ExportedOverlay> {
  type: 'exportOverlay';
  imagePath: string;
  /** The DisplayImage key the map was computed for: a file changed since is refused, not blended with a map of its old self. */
  imageKey: string;
  /** The explanation's map (CamResult.cam, normalised to [0, 1]). */
  cam: Map2D;
  colormap: ColormapName;
  opacity: number;
}

export interface ExportedOverlay {
  png: Uint8Array;
  width: number;
  height: number;
}

// Layer inspection (issue 3): src/worker/inspection.ts answers these. Activations are computed once
// per (model, image, layer) and kept, so paging, sorting and clicking a channel cost no forward pass.

/** Which views (activations, filters) each layer of the model offers. */
export interface LayerViewsRequest extends RequestBase<LayerViews[]> {
  type: 'layerViews';
  modelPath: string;
}

export interface ActivationPageWorkerRequest extends RequestBase<ActivationPage> {
  type: 'activationPage';
  modelPath: string;
  imagePath: string;
  request: ActivationPageRequest;
}

export interface ActivationChannelWorkerRequest extends RequestBase<ActivationChannel> {
  type: 'activationChannel';
  modelPath: string;
  imagePath: string;
  request: ActivationChannelRequest;
}

export interface FilterPageWorkerRequest extends RequestBase<FilterPage> {
  type: 'filterPage';
  modelPath: string;
  request: FilterPageRequest;
}

export type LayerInspectionRequest = LayerViewsRequest | ActivationPageWorkerRequest | ActivationChannelWorkerRequest | FilterPageWorkerRequest;

export type WorkerRequest =
  | InitRequest
  | LoadModelRequest
  | ExplainImageRequest
  | CompareImageRequest
  | EstimateCompareRequest
  | DisposeModelRequest
  | MemoryRequest
  | ExportOverlayRequest
  | SamplePassRequest
  | LayerInspectionRequest;

/** Events the worker pushes to the host. */
export interface ProgressEvent {
  type: 'progress';
  /** The id of the request this progress belongs to. */
  requestId: number;
  progress: Progress;
}
export interface LogEvent {
  type: 'log';
  message: string;
}
export type WorkerEvent = ProgressEvent | LogEvent;
