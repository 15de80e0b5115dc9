// Result and description types shared by the engine, the worker, the extension host, the webview
// and the CLI. Pure data: no tfjs, no vscode, no DOM. Large numeric payloads are typed arrays so
// they can be transferred between threads and posted to the webview without becoming JSON arrays.

/**
 * What the user asks for: `auto` = ONNX Runtime for ONNX, PyTorch, Keras and TF.js models where
 * it loads, and tfjs-node if it loads, else wasm, else cpu for everything else (a model with a
 * layer or op that has no ONNX export); `onnxruntime` requires ONNX Runtime.
 */
export type BackendChoice = 'auto' | 'onnxruntime' | 'node' | 'wasm' | 'cpu';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'onnxruntime', 'node', 'wasm', 'cpu'];

/**
 * What actually runs. `node` is @tensorflow/tfjs-node (libtensorflow); `onnxruntime` is ONNX
 * Runtime (onnxruntime-node) running the passes of ONNX, PyTorch, Keras and TF.js models,
 * a tfjs backend the rest.
 */
export type BackendName = 'onnxruntime' | 'node' | 'wasm' | 'cpu';

export const COLORMAPS = ['jet', 'turbo', 'viridis', 'inferno'] as const;
export type ColormapName = (typeof COLORMAPS)[number];

/**
 * Methods the engine can run, each one file in src/engine/explain/methods/ (the registry there is keyed by
 * this list). CAM family first (maps at a chosen 4-D layer), then the input-level family.
 */
export const METHOD_NAMES = [
  'gradcam',
  'gradcam++',
  'xgradcam',
  'layercam',
  'hirescam',
  'scorecam',
  'eigencam',
  'saliency',
  'smoothgrad',
  'integrated-gradients',
  'guided-backprop',
  'guided-gradcam',
  'occlusion',
] as const;
export type MethodName = (typeof METHOD_NAMES)[number];

/** Display names, as the papers write them. */
export const METHOD_LABELS: Readonly<Record<MethodName, string>> = {
  gradcam: 'Grad-CAM',
  'gradcam++': 'Grad-CAM++',
  xgradcam: 'XGrad-CAM',
  layercam: 'LayerCAM',
  hirescam: 'HiResCAM',
  scorecam: 'Score-CAM',
  eigencam: 'Eigen-CAM',
  saliency: 'Saliency',
  smoothgrad: 'SmoothGrad',
  'integrated-gradients': 'Integrated Gradients',
  'guided-backprop': 'Guided Backprop',
  'guided-gradcam': 'Guided Grad-CAM',
  occlusion: 'Occlusion',
};

/** Methods whose map is computed at the input, not at a layer: the layer picker does not apply to them. */
export const INPUT_LEVEL_METHODS: readonly MethodName[] = ['saliency', 'smoothgrad', 'integrated-gradients', 'guided-backprop', 'occlusion'];

/** Baselines for Integrated Gradients (and the start image of the insertion metric). */
export const IG_BASELINES = ['black', 'blurred'] as const;
export type IgBaseline = (typeof IG_BASELINES)[number];

/**
 * Options of the methods that take them; every field is optional with a default (DEFAULT_METHOD_OPTIONS).
 * Pixel values (fill) are image intensities in [0, 1], mapped through the model's preprocessing.
 */
export interface MethodOptions {
  /** Inputs per forward/backward pass (Score-CAM, SmoothGrad, Integrated Gradients, occlusion, metrics). */
  batchSize?: number;
  /** SmoothGrad: noisy samples averaged. */
  samples?: number;
  /** SmoothGrad: noise standard deviation as a fraction of the input's value range (max − min). */
  noise?: number;
  /** Integrated Gradients: integration steps (Gauss-Legendre nodes). */
  steps?: number;
  /** Integrated Gradients: the reference input. */
  baseline?: IgBaseline;
  /** Occlusion: side of the square patch, in model-input pixels (default: an eighth of the shorter side). */
  patch?: number;
  /** Occlusion: step between patches (default: half the patch). */
  stride?: number;
  /** Occlusion: grey level of the patch in [0, 1] (0 = black). */
  fill?: number;
  /** Seed of the random numbers (SmoothGrad noise, ROAD imputation noise), so runs repeat exactly. */
  seed?: number;
}

export const DEFAULT_METHOD_OPTIONS = {
  batchSize: 16,
  samples: 25,
  noise: 0.15,
  steps: 50,
  baseline: 'black',
  fill: 0,
  seed: 1,
} as const satisfies MethodOptions;

/** Integrated Gradients' completeness check: the attributions should sum to the score difference. */
export interface CompletenessCheck {
  /** Sum of all attributions (before taking magnitudes). */
  attributionSum: number;
  /** score(input) − score(baseline), pre-softmax. */
  scoreDifference: number;
  baselineScore: number;
  /** |attributionSum − scoreDifference| / max(|scoreDifference|, 1e-6). */
  relativeError: number;
}

/** What a method did beyond the map: the options it used and checks it made. */
export interface MethodDetails {
  /** The options actually used, defaults filled in (only those the method reads). */
  options: MethodOptions;
  /** Forward (or forward+backward) passes run, and inputs scored in them. */
  passes: number;
  inputsScored: number;
  /** True when a layer map started from the previous request's forward pass (same model, image and layer). */
  forwardReused?: boolean;
  /** Inputs of sampling passes computed by helper engines (other workers; see cnnLens.sampleWorkers). */
  inputsElsewhere?: number;
  /** Why ONNX Runtime did not run (part of) this request, which then ran on the tfjs backend. */
  nativeFallback?: string;
  completeness?: CompletenessCheck;
  /** What layerCam holds for this method (input-level methods keep a raw input-size map there). */
  layerCamNote?: string;
}

/**
 * Faithfulness metrics of one map (src/engine/explain/metrics/). Scores are the class's probability (softmax;
 * σ(±z) for a binary output's chosen side), or the value itself for a regression output.
 */
export interface MetricCurve {
  /** Fraction of pixels removed (deletion, ROAD) or inserted (insertion), in [0, 1]. */
  fractions: number[];
  scores: number[];
  /** Trapezoid area under scores over fractions. */
  auc: number;
}

export interface FaithfulnessMetrics {
  /** Probability of the class on the unmodified input (a regression: its value). */
  probability: number;
  /** What the curves' scores are: probabilities, or a regression's values. */
  scoreKind?: 'probability' | 'value';
  /** Most important pixels replaced by a blurred copy's first: lower AUC = more faithful. */
  deletion: MetricCurve;
  /** Most important pixels restored first onto a blurred image: higher AUC = more faithful. */
  insertion: MetricCurve;
  /** ROAD, most relevant removed first (noisy linear imputation): lower is more faithful. */
  roadMostRelevantFirst: MetricCurve;
  /** ROAD, least relevant removed first: higher is more faithful. */
  roadLeastRelevantFirst: MetricCurve;
  /** pytorch-grad-cam's ROADCombined: (mean LeRF − mean MoRF) / 2 of the probability changes; higher is better. */
  roadCombined: number;
  /** Probability change when the input is multiplied by the map (pytorch-grad-cam's CamMultImageConfidenceChange); higher is better. */
  confidenceChange: number;
  /** Forward passes and inputs scored for all metrics. */
  passes: number;
  inputsScored: number;
  timeMs: number;
}

/** Metrics a comparison can be ranked by, each with its better direction. */
export const RANK_METRICS = {
  deletion: { label: 'Deletion AUC', better: 'lower', value: (m: FaithfulnessMetrics) => m.deletion.auc },
  insertion: { label: 'Insertion AUC', better: 'higher', value: (m: FaithfulnessMetrics) => m.insertion.auc },
  road: { label: 'ROAD combined', better: 'higher', value: (m: FaithfulnessMetrics) => m.roadCombined },
  confidence: { label: 'Confidence change', better: 'higher', value: (m: FaithfulnessMetrics) => m.confidenceChange },
} as const;
export type RankMetric = keyof typeof RANK_METRICS;
export const RANK_METRIC_NAMES = Object.keys(RANK_METRICS) as RankMetric[];

/** Sorts compared items best first by a metric (items without metrics last, order otherwise kept). */
export function rankByMetric<T extends { metrics?: FaithfulnessMetrics }>(items: readonly T[], metric: RankMetric): T[] {
  const { better, value } = RANK_METRICS[metric];
  const key = (item: T): number => (item.metrics ? value(item.metrics) * (better === 'lower' ? 1 : -1) : Infinity);
  return items
    .map((item, index) => ({ item, index }))
    .sort((a, b) => key(a.item) - key(b.item) || a.index - b.index)
    .map(({ item }) => item);
}

/** An 8-bit RGBA image, row-major, 4 bytes per pixel. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
  /** The file it was decoded from, for messages about it (readImage sets it). */
  source?: string;
}

/** A single-channel float map, row-major. */
export interface Map2D {
  width: number;
  height: number;
  data: Float32Array;
}

/**
 * A map quantised to 8 bits, row-major, to be coloured through a 256-entry table (src/render/indexed.ts):
 * byte v is drawn with the table's entry v. This is how every map reaches the panel's page, once;
 * the page colours it in the colormap chosen there, so a new colormap or opacity needs no new bytes.
 */
export interface IndexedMap {
  width: number;
  height: number;
  data: Uint8Array;
  /** The values bytes 0 and 255 stand for (a legend's ends): 0 and 1 for a CAM normalised to [0, 1]. */
  low: number;
  high: number;
  /** Signed values with byte 128 as zero, for a diverging table; a sequential table otherwise. */
  diverging?: boolean;
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
 * torch.onnx.export), Keras 3 (.keras zip), Keras 2 HDF5 (.h5), and PyTorch (a model.py with its
 * checkpoint, a TorchScript file or a pickled model, run by the user's Python and exported to ONNX).
 */
export type ModelFormat = 'layers-model' | 'graph-model' | 'onnx' | 'keras' | 'keras-h5' | 'pytorch';

/** The Python that runs PyTorch models: the user's choice, or (no path) found on the PATH. */
export interface PythonChoice {
  path?: string;
  /** Where the path came from, for messages: "cnnLens.pythonPath", "the Python extension", "--python". */
  source?: string;
}

/** How a PyTorch model was built and run (src/engine/models/pytorch/), for the panel, the summary and the CLI. */
export interface PytorchBuild {
  /** The .py file that defines the model, or the TorchScript / pickled model file. */
  source: string;
  /** How the model was made: "SimpleCNN()", "create_model()", "TorchScript (torch.jit.save)". */
  builtWith: string;
  /** The weights loaded into it; null when none was found: the model runs with untrained weights. */
  checkpoint: { path: string; form: string } | null;
  /** The interpreter that ran it, and its versions. */
  python: string;
  pythonVersion: string;
  torchVersion: string;
  /** Input as PyTorch sees it, [channels, height, width]. */
  input: [number, number, number];
  /** Where the input size came from: cnn-lens.json, the image's own size, or trying common sizes. */
  inputSource: 'sidecar' | 'image' | 'trial';
  /** True when the model also runs at other sizes (adaptive pooling): images may run at their own size. */
  flexible: boolean;
  /** The model's class (SimpleCNN), as named in the source. */
  modelClass: string;
  /** The line defining the model's class or the factory that built it, in the user's files. */
  builderSite?: SourceSite;
  /** Every submodule: where it is written, its own weights' statistics, and its layers (one per call). */
  modules: PytorchModule[];
}

/** A line of the user's Python files, with its text (to find it again while the file is edited). */
export interface SourceSite {
  file: string;
  /** 1-based. */
  line: number;
  text: string;
}

export interface PytorchModule {
  /** Its path in named_modules(): conv1, layer4.1, features.13. */
  name: string;
  className: string;
  /** Parameters, its submodules' included, as PyTorch counts them. */
  params: number;
  /** Where it is assigned (`self.conv1 = …`), else built; absent for modules of other files. */
  site?: SourceSite;
  /** min, mean, max of each of its own parameters (weight, bias). */
  weights?: Record<string, [number, number, number]>;
  /** Its layers: one per call ("pool", "pool (call 2)"); none when it never runs. */
  layers: string[];
}

/**
 * What a model output holds, as pytorch-grad-cam's targets define them:
 *  - `classes`: a vector of class scores (logits, or a softmax whose input CAMs differentiate);
 *  - `binary`: one unit, a binary classifier's logit z (a sigmoid output, seen through to z): shown
 *    as two classes, class 0 = 1 − σ(z) explained with −z and class 1 = σ(z) explained with +z
 *    (BinaryClassifierOutputTarget(0 / 1));
 *  - `regression`: raw values (an age), explained and shown as they are (RawScoresOutputTarget).
 */
export const OUTPUT_KINDS = ['classes', 'binary', 'regression'] as const;
export type OutputKind = (typeof OUTPUT_KINDS)[number];

/** One output of a model, in the model's output order. */
export interface ModelOutput {
  /** 0-based, the model's output order (CLI --output N). */
  index: number;
  /** As the format names it: the Keras output layer, the ONNX graph output, the graph model's signature key. */
  name: string;
  /** As the model states it, batch first (null or a name when not fixed). */
  shape: (number | string | null)[];
  /** null when the output is not scores (a box, heatmap or mask output): it cannot be explained. */
  kind: OutputKind | null;
  /** Where the kind comes from: the model (its final activation and size) or cnn-lens.json. */
  kindSource: 'model' | 'sidecar';
  /** The final activation CAMs look through (the score is its input), if any. */
  activation: 'softmax' | 'sigmoid' | null;
  /** One per entry shown: classes; for binary [class 0 (1 − σ(z)), class 1 (σ(z))]; regression values. */
  labels: string[];
  /** The file the labels came from, or null when they are the defaults. */
  labelsSource: string | null;
  /** The layer Grad-CAM uses for this output when none is chosen (the last 4-D layer feeding it). */
  defaultCamLayer: string;
}

/** Which output a result explains. */
export interface ExplainedOutput {
  index: number;
  name: string;
  kind: OutputKind;
  /** How many outputs the model has (the panel names the output only when there are several). */
  of: number;
}

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
  /** The default output's labels (outputs[defaultOutput].labels). */
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
  /** Entries of the default output: classes, 2 for a binary output, values of a regression. */
  numClasses: number;
  /** Every output, in the model's order; the ones whose kind is null cannot be explained. */
  outputs: ModelOutput[];
  /** The output explained when none is chosen: the first one that holds scores. */
  defaultOutput: number;
  /**
   * Files the model was built from besides model.json's folder, so live refresh can follow them:
   * for a model defined in code, the bundled sources and the weight files it loaded.
   */
  sourceFiles?: string[];
  /** 'NCHW' when shapes are shown as the source framework shows them (PyTorch and ONNX: 1×32×16×16); default H×W×C (TF.js, Keras). */
  shapeOrder?: 'NCHW';
  /** For PyTorch models: how the model was built, which weights and which input size. */
  pytorch?: PytorchBuild;
  /**
   * Problems that do not stop the model from loading but change what is shown, one line each naming
   * the file (e.g. a labels file whose count differs from the class count: classes become "class N").
   */
  warnings?: string[];
}

export interface Prediction {
  index: number;
  label: string;
  /**
   * Softmax probability (classes), σ(±z) (binary: 1 − σ(z) for class 0, σ(z) for class 1); absent
   * for a regression, whose entries are values, not probabilities.
   */
  probability?: number;
  /** The score CAMs differentiate: the pre-softmax logit, ±z for a binary output, the value of a regression. */
  score: number;
  /** A regression's value (the same as score). */
  value?: number;
}

export interface ExplainRequest {
  method: MethodName;
  /** Layer name as in LayerInfo.name; default: ModelSummary.defaultCamLayer. */
  layer?: string;
  /** Class index (for a binary output 0 = 1 − σ(z), 1 = σ(z); for a regression the value's index); default: the top-1 prediction (a regression's first value). */
  classIndex?: number;
  /** Which output to explain: its index in the model's output order or its name; default ModelSummary.defaultOutput. */
  output?: number | string;
  /** How many predictions to return (default 5). */
  topK?: number;
  /** Method options (samples, steps, patch...); defaults in DEFAULT_METHOD_OPTIONS. */
  options?: MethodOptions;
  /** Also compute the faithfulness metrics of the map (forward passes on perturbed inputs). */
  metrics?: boolean;
}

export interface CamResult {
  method: MethodName;
  backend: BackendName;
  layer: string;
  classIndex: number;
  className: string;
  /** The explained score: the class's pre-softmax logit, ±z for a binary output, a regression's value. */
  score: number;
  /** The output explained and its kind. */
  output: ExplainedOutput;
  predictions: Prediction[];
  /** Normalised map in [0,1] at the model input size. */
  cam: Map2D;
  /**
   * CAM family: the raw ReLU map at the layer's resolution (before normalisation). Input-level
   * methods: the raw map at the input's resolution before normalisation (max |attribution| over
   * channels; occlusion's positive score drop), so `layer` then names the model input.
   */
  layerCam: Map2D;
  /** Milliseconds per stage, for logs and benchmarks. */
  timings: Record<string, number>;
  /** Options used, passes run, checks (Integrated Gradients' completeness). */
  details?: MethodDetails;
  /** Present when the request asked for metrics. */
  metrics?: FaithfulnessMetrics;
}

/** Progress of a long request; fraction in [0,1] when known. */
export interface Progress {
  message: string;
  fraction?: number;
  /** In a comparison: which method of how many, and whether its map or its metrics are running. */
  step?: CompareStep;
}

/** One step of a comparison, for the panel's progress ("Score-CAM, 2 of 5: metrics"). */
export interface CompareStep {
  /** 0-based position of the method in the run. */
  index: number;
  of: number;
  method: MethodName;
  phase: 'method' | 'metrics';
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
/**
 * The axis order a filter bank's shape is stated in, the source's own: `HWIO` [kernel height, width,
 * inputs, filters] as tfjs and TensorFlow store kernels; `OIHW` [filters, inputs, kernel height,
 * width] as PyTorch stores them, and ONNX after it.
 */
export const FILTER_LAYOUTS = ['HWIO', 'OIHW'] as const;
export type FilterLayout = (typeof FILTER_LAYOUTS)[number];
/** Each layout's axes by name, and whose order it is, for labels. */
export const FILTER_LAYOUT_AXES: Readonly<Record<FilterLayout, readonly string[]>> = {
  HWIO: ['height', 'width', 'inputs', 'filters'],
  OIHW: ['filters', 'inputs', 'height', 'width'],
};
export const FILTER_LAYOUT_SOURCES: Readonly<Record<FilterLayout, string>> = {
  HWIO: 'as TensorFlow stores kernels',
  OIHW: 'as PyTorch stores weights',
};

/** One filter's shape in a layout (the bank's without its filter axis): [kh, kw, inputs] or [inputs, kh, kw]. */
export function filterShape(layout: FilterLayout, kernelHeight: number, kernelWidth: number, inputs: number): number[] {
  return layout === 'OIHW' ? [inputs, kernelHeight, kernelWidth] : [kernelHeight, kernelWidth, inputs];
}

/** A filter bank's shape in a layout: [kh, kw, inputs, filters] (HWIO) or [filters, inputs, kh, kw] (OIHW). */
export function filterBankShape(layout: FilterLayout, kernelHeight: number, kernelWidth: number, inputs: number, filters: number): number[] {
  const one = filterShape(layout, kernelHeight, kernelWidth, inputs);
  return layout === 'OIHW' ? [filters, ...one] : [...one, filters];
}

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
  /** The order the source states the kernel in (see filterBankShape); tiles are row-major kh×kw whatever it is. */
  layout: FilterLayout;
  kernelHeight: number;
  kernelWidth: number;
  /** Input channels each filter sees (1 for depthwise kernels, drawn per channel; a group's inputs for grouped ones). */
  inputChannels: number;
  filterCount: number;
  /**
   * Groups the filters split into, in order, each reading its own inputChannels of the layer's input:
   * 1 for an ordinary convolution, the channel count for a depthwise one, between for a grouped
   * convolution (ONNX `group`), whose input indices are then within the filter's group.
   */
  groups: number;
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
