// What each method, faithfulness metric and inspection view shows, how to read it, when to prefer
// it, and where it comes from: the texts behind the panel's ⓘ buttons (beside the Method picker, on
// each Compare tile, beside the metrics and on the Activations and Filters tabs). One table for every
// surface: the webview shows it in the user's language (`t`, l10n/bundle.l10n.*.json) and the CLI's
// help can print the English. Paper titles are not translated: they are how people find the papers.
import { t } from './l10n';
import { METHOD_LABELS, type MethodName, type RankMetric } from './types';

export interface Explanation {
  /** What is explained: "Grad-CAM", "Deletion AUC", "Activations". */
  title: string;
  /** Two or three sentences: what it shows, how to read it, when to prefer it. */
  text: string;
  /** The paper, as cited (authors, title, venue and year). */
  paper: string;
}

const PAPERS = {
  gradcam: 'Selvaraju et al., “Grad-CAM: Visual Explanations from Deep Networks via Gradient-based Localization”, ICCV 2017',
  gradcamPlusPlus: 'Chattopadhyay et al., “Grad-CAM++: Improved Visual Explanations for Deep Convolutional Networks”, WACV 2018',
  xgradcam: 'Fu et al., “Axiom-based Grad-CAM: Towards Accurate Visualization and Explanation of CNNs”, BMVC 2020',
  layercam: 'Jiang et al., “LayerCAM: Exploring Hierarchical Class Activation Maps for Localization”, IEEE TIP 2021',
  hirescam: 'Draelos and Carin, “Use HiResCAM instead of Grad-CAM for faithful explanations of convolutional neural networks”, arXiv 2020',
  scorecam: 'Wang et al., “Score-CAM: Score-Weighted Visual Explanations for Convolutional Neural Networks”, CVPR Workshops 2020',
  eigencam: 'Muhammad and Yeasin, “Eigen-CAM: Class Activation Map using Principal Components”, IJCNN 2020',
  saliency: 'Simonyan et al., “Deep Inside Convolutional Networks: Visualising Image Classification Models and Saliency Maps”, ICLR Workshop 2014',
  smoothgrad: 'Smilkov et al., “SmoothGrad: removing noise by adding noise”, arXiv 2017',
  integratedGradients: 'Sundararajan et al., “Axiomatic Attribution for Deep Networks”, ICML 2017',
  guidedBackprop: 'Springenberg et al., “Striving for Simplicity: The All Convolutional Net”, ICLR Workshop 2015',
  occlusion: 'Zeiler and Fergus, “Visualizing and Understanding Convolutional Networks”, ECCV 2014',
  rise: 'Petsiuk et al., “RISE: Randomized Input Sampling for Explanation of Black-box Models”, BMVC 2018',
  road: 'Rong et al., “A Consistent and Efficient Evaluation Strategy for Attribution Methods”, ICML 2022',
} as const;

/** Each method's text, read when shown (the translator is installed after this module loads). */
const METHOD_TEXTS: Readonly<Record<MethodName, { text: () => string; paper: string }>> = {
  gradcam: {
    text: () =>
      t(
        "Where the chosen layer's feature maps support the class: each channel is weighted by the mean gradient of the class score, and the weighted maps are summed, keeping the positive part. Red regions raised the score most; the map is as coarse as the layer, so read it as a region, not as exact pixels. A fast, class-specific first look.",
      ),
    paper: PAPERS.gradcam,
  },
  'gradcam++': {
    text: () =>
      t(
        "Like Grad-CAM, but each channel's weight comes from higher-order gradients, so every region that raises the score counts, not only the strongest. Prefer it when the image holds several objects of the class or one large object: the map covers more of them.",
      ),
    paper: PAPERS.gradcamPlusPlus,
  },
  xgradcam: {
    text: () =>
      t(
        "Grad-CAM with each channel's gradients scaled by that channel's activations, derived from two axioms (sensitivity and conservation). Usually close to Grad-CAM; it differs where a few strongly activated channels dominate the layer.",
      ),
    paper: PAPERS.xgradcam,
  },
  layercam: {
    text: () =>
      t(
        'Weights every position, not every channel, by its positive gradient, so fine detail survives. It also works at early layers, where Grad-CAM turns to blur: use it to see finer structure or to compare what several layers look at.',
      ),
    paper: PAPERS.layercam,
  },
  hirescam: {
    text: () =>
      t(
        'Multiplies gradients and activations position by position before summing over channels, without averaging the gradients: the map shows the locations this layer actually used for the score. Prefer it when faithfulness matters more than a smooth picture.',
      ),
    paper: PAPERS.hirescam,
  },
  scorecam: {
    text: () =>
      t(
        "No gradients: each channel's map masks the image, and the channel's weight is how much that masked image raises the class score. Less noisy than gradient methods and immune to saturated gradients, but it runs one forward pass per channel, so it is slow on wide layers.",
      ),
    paper: PAPERS.scorecam,
  },
  eigencam: {
    text: () =>
      t(
        "The first principal component of the layer's activations: the pattern the layer responds to most, found without gradients and without the class. It is the same for every class, so it shows what the model attends to, not why it chose a class: a useful sanity check.",
      ),
    paper: PAPERS.eigencam,
  },
  saliency: {
    text: () =>
      t(
        'The gradient of the class score at each input pixel: how much a tiny change of that pixel would move the score. Fine-grained but noisy; bright pixels are the sensitive ones, which are not always the evidence.',
      ),
    paper: PAPERS.saliency,
  },
  smoothgrad: {
    text: () =>
      t(
        'Averages the saliency map over many copies of the image with added noise, which cancels the speckle of single gradients and keeps the structure they agree on. Prefer it to plain saliency when you want pixel detail you can read; it costs one gradient per sample.',
      ),
    paper: PAPERS.smoothgrad,
  },
  'integrated-gradients': {
    text: () =>
      t(
        'Accumulates gradients along a straight path from a baseline (a black or blurred image) to the image; the attributions add up to the score difference between the two. Principled pixel attribution, but the result depends on the baseline chosen.',
      ),
    paper: PAPERS.integratedGradients,
  },
  'guided-backprop': {
    text: () =>
      t(
        'Passes only positive gradients back through positive ReLU activations, which draws the sharp edges and textures the network responds to. It is hardly class-specific (the maps look alike for every class): read it as what the network sees, not why it decided.',
      ),
    paper: PAPERS.guidedBackprop,
  },
  'guided-gradcam': {
    text: () =>
      t(
        "Guided Backprop multiplied by the Grad-CAM map: the first one's sharp detail, only where the second one finds the class. High resolution and class-specific at once.",
      ),
    paper: PAPERS.gradcam,
  },
  occlusion: {
    text: () =>
      t(
        'Slides a grey patch over the image and records how much the class score drops at each position. Direct and model-agnostic: red regions are the ones the prediction depends on. Slow (a forward pass per patch position) and only as sharp as the patch.',
      ),
    paper: PAPERS.occlusion,
  },
};

const METRIC_TEXTS: Readonly<Record<RankMetric, { title: () => string; text: () => string; paper: string }>> = {
  deletion: {
    title: () => t('Deletion AUC'),
    text: () =>
      t(
        'Removes pixels from the most to the least important (by the map) and follows the class probability; the score is the area under that curve. Lower is better: a faithful map points at the pixels whose removal makes the probability fall fastest.',
      ),
    paper: PAPERS.rise,
  },
  insertion: {
    title: () => t('Insertion AUC'),
    text: () =>
      t(
        'Starts from a blurred image and restores pixels from the most to the least important; the score is the area under the class probability curve. Higher is better: a faithful map restores the evidence first, so the probability rises early.',
      ),
    paper: PAPERS.rise,
  },
  road: {
    title: () => t('ROAD combined'),
    text: () =>
      t(
        "Removes the most and the least relevant pixels and fills them in from their neighbours (noisy linear imputation), so the removal itself leaks no shape, then combines both orders into one score. Higher is better: removing what the map calls important hurts the prediction more than removing what it calls unimportant.",
      ),
    paper: PAPERS.road,
  },
  confidence: {
    title: () => t('Confidence change'),
    text: () =>
      t(
        'The change of the class probability when the image is multiplied by the map, keeping only what the map highlights. Higher is better: near zero or positive means the highlighted region alone carries the prediction; strongly negative means the map misses evidence.',
      ),
    paper: PAPERS.gradcamPlusPlus,
  },
};

export function methodExplanation(method: MethodName): Explanation {
  const entry = METHOD_TEXTS[method];
  return { title: METHOD_LABELS[method], text: entry.text(), paper: entry.paper };
}

export function metricExplanation(metric: RankMetric): Explanation {
  const entry = METRIC_TEXTS[metric];
  return { title: entry.title(), text: entry.text(), paper: entry.paper };
}

/** The Activations and Filters tabs: what a tile is, what a dead channel is, why later filters look like noise. */
export function viewExplanation(view: 'activations' | 'filters'): Explanation {
  return view === 'activations'
    ? {
        title: t('Activations'),
        text: t(
          "Each tile is one channel of the layer's output for this image, bright where the channel's filter found its pattern. Early layers respond to edges and colours, later ones to parts of objects, in coarser maps. A dead channel is zero everywhere for this image (ReLU cut it off): a few are normal, but many dead channels on every image suggest dying ReLUs, often from too high a learning rate.",
        ),
        paper: PAPERS.occlusion,
      }
    : {
        title: t('Filters'),
        text: t(
          "Each tile is one learned kernel: the pattern its channel looks for in the layer's input. First-layer filters see the RGB image, so they look like colour blobs and oriented edges. Later filters act on the previous layer's channels, not on pixels, so drawn as pictures they look like noise: that is expected; their activations show what they respond to. Grey is zero; the colours are symmetric around it.",
        ),
        paper: PAPERS.occlusion,
      };
}

/** "Paper: …", the citation line under an explanation. */
export function paperLine(explanation: Explanation): string {
  return t('Paper: {0}', explanation.paper);
}
