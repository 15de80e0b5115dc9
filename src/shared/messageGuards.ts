// The runtime validator of each boundary where a process receives messages it did not write: the
// panel's page -> its host (WebviewToHost), the model viewer's page -> its host (ModelViewerToHost),
// and the host (or a sibling engine) -> the engine worker (WorkerRequest). The webview's page is
// untrusted content (model names and labels are drawn in it), and the worker's requests cross a
// process; neither side casts a body to its type before one of these has checked it.
import {
  anything,
  arrayOf,
  boolean,
  either,
  messageGuard,
  nonEmptyString,
  number,
  numberTuple,
  object,
  oneOf,
  optional,
  string,
  typedArray,
  type Check,
} from './guards';
import type { ModelViewerToHost } from './modelViewer';
import type { WebviewToHost } from './panel';
import type { PytorchSettings, SamplePart, SamplePoolSpec, WorkerRequest } from './worker';
import {
  ACTIVATION_SCALES,
  ACTIVATION_SORTS,
  BACKEND_CHOICES,
  COLORMAPS,
  FILTER_MODES,
  FILTER_SCALES,
  IG_BASELINES,
  METHOD_NAMES,
  type ActivationChannelRequest,
  type ActivationPageRequest,
  type ExplainRequest,
  type FilterPageRequest,
  type MethodOptions,
  type Map2D,
  type Preprocessing,
  type PythonChoice,
} from './types';

const method = oneOf(METHOD_NAMES);

const activationPageRequest = object<ActivationPageRequest>({
  layer: string,
  page: optional(number),
  pageSize: optional(number),
  sort: optional(oneOf(ACTIVATION_SORTS)),
  hideDead: optional(boolean),
  scale: optional(oneOf(ACTIVATION_SCALES)),
});

const activationChannelRequest = object<ActivationChannelRequest>({ layer: string, channel: number });

const filterPageRequest = object<FilterPageRequest>({
  layer: string,
  mode: optional(oneOf(FILTER_MODES)),
  scale: optional(oneOf(FILTER_SCALES)),
  page: optional(number),
  pageSize: optional(number),
  inputPage: optional(number),
  inputsPerPage: optional(number),
});

// ---------------------------------------------------------------------------------------------
// Panel page -> host

/** Checks a message from the panel's page (src/host/panel/lensPanel.ts feeds every one through it). */
export const panelMessage = messageGuard<WebviewToHost>('CNN Lens panel page', {
  ready: {},
  changeTarget: { classIndex: optional(number), layer: optional(string), method, output: optional(number) },
  changeAppearance: { colormap: oneOf(COLORMAPS), opacity: number },
  openFile: { which: oneOf(['model', 'image']) },
  selectModel: {},
  exportOverlay: {},
  cancel: {},
  confirmRun: { id: number, run: boolean },
  compare: { methods: arrayOf(method), metrics: boolean, confirmed: optional(boolean) },
  inspectModel: {},
  inspectActivations: { request: activationPageRequest },
  inspectChannel: { request: activationChannelRequest },
  inspectFilters: { request: filterPageRequest },
  // Its fields are read leniently by parseInspectState (a page restored from an older version).
  inspectState: { state: object<Record<string, never>>({}) },
  pickLayer: { tab: oneOf(['activations', 'filters']), layer: string },
});

// ---------------------------------------------------------------------------------------------
// Model viewer page -> host

/** Checks a message from the model viewer's page (src/host/editors/modelViewer.ts). */
export const modelViewerMessage = messageGuard<ModelViewerToHost>('CNN Lens model viewer page', {
  explain: {},
  reload: {},
  activations: { layer: nonEmptyString },
});

// ---------------------------------------------------------------------------------------------
// Host -> engine worker

const preprocessing = optional(object<Preprocessing>({ mean: optional(arrayOf(number)), std: optional(arrayOf(number)) }));

const methodOptions = object<MethodOptions>({
  batchSize: optional(number),
  samples: optional(number),
  noise: optional(number),
  steps: optional(number),
  baseline: optional(oneOf(IG_BASELINES)),
  patch: optional(number),
  stride: optional(number),
  fill: optional(number),
  seed: optional(number),
});

/** An explain request's fields but the method (a comparison names its methods apart). */
const explainFields = {
  layer: optional(string),
  classIndex: optional(number),
  output: optional(either(number, string)),
  topK: optional(number),
  options: optional(methodOptions),
  metrics: optional(boolean),
};

const explainRequest = object<ExplainRequest>({ method, ...explainFields });
const compareRequest = object<Omit<ExplainRequest, 'method'>>(explainFields);

const map2D = object<Map2D>({ width: number, height: number, data: typedArray(Float32Array) });

const samplePool = object<SamplePoolSpec>({ helpers: number, workerPath: string, workerData: anything, execArgv: optional(arrayOf(string)) });

const pytorchSettings = object<PytorchSettings>({
  python: optional(object<PythonChoice>({ path: optional(string), source: optional(string) })),
  exportCacheDir: optional(string),
});

const samplePart = object<SamplePart>({
  pass: oneOf(['inputGradients', 'classScores', 'logits']),
  batch: typedArray(Float32Array),
  shape: numberTuple(4),
  classIndex: number,
  guided: optional(boolean),
  output: optional(number),
});

const inputShape: Check = optional(numberTuple(3));

/** Checks a request the engine worker receives (src/worker/engineWorker.ts). */
export const workerRequest = messageGuard<WorkerRequest>('CNN Lens engine', {
  init: {
    backend: oneOf(BACKEND_CHOICES),
    wasmDir: string,
    samplePool: optional(samplePool),
    pytorch: optional(pytorchSettings),
    maxImagePixels: optional(number),
  },
  loadModel: { modelPath: string, preprocessing, reload: optional(boolean), allowCode: optional(boolean), input: inputShape },
  explain: { modelPath: string, imagePath: string, request: explainRequest, preprocessing, knownImageKey: optional(string) },
  compare: { modelPath: string, imagePath: string, methods: arrayOf(method), request: compareRequest, preprocessing, knownImageKey: optional(string) },
  estimateCompare: { modelPath: string, imagePath: string, methods: arrayOf(method), request: compareRequest, preprocessing },
  disposeModel: { modelPath: string },
  memory: {},
  exportOverlay: { imagePath: string, imageKey: string, cam: map2D, colormap: oneOf(COLORMAPS), opacity: number },
  samplePass: { modelPath: string, preprocessing, allowCode: optional(boolean), input: inputShape, part: samplePart },
  layerViews: { modelPath: string },
  activationPage: { modelPath: string, imagePath: string, request: activationPageRequest },
  activationChannel: { modelPath: string, imagePath: string, request: activationChannelRequest },
  filterPage: { modelPath: string, request: filterPageRequest },
});
