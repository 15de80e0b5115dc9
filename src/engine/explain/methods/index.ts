// Method registry: one small file per method, all running on the shared pipeline (pipeline.ts).
// Keyed by the protocol's MethodName, so adding a name there without a method here fails to compile.
import type { MethodName } from '../../../shared/types';
import { LensError } from '../../../shared/errors';
import type { Method } from '../pipeline';
import { eigenCam } from './eigenCam';
import { gradCam } from './gradCam';
import { gradCamPlusPlus } from './gradCamPlusPlus';
import { guidedBackprop } from './guidedBackprop';
import { guidedGradCam } from './guidedGradCam';
import { hiResCam } from './hiResCam';
import { integratedGradients } from './integratedGradients';
import { layerCam } from './layerCam';
import { occlusion } from './occlusion';
import { saliency } from './saliency';
import { scoreCam } from './scoreCam';
import { smoothGrad } from './smoothGrad';
import { xGradCam } from './xGradCam';

export const METHODS: Readonly<Record<MethodName, Method>> = {
  gradcam: gradCam,
  'gradcam++': gradCamPlusPlus,
  xgradcam: xGradCam,
  layercam: layerCam,
  hirescam: hiResCam,
  scorecam: scoreCam,
  eigencam: eigenCam,
  saliency,
  smoothgrad: smoothGrad,
  'integrated-gradients': integratedGradients,
  'guided-backprop': guidedBackprop,
  'guided-gradcam': guidedGradCam,
  occlusion,
};

export function getMethod(name: string): Method {
  if (!Object.prototype.hasOwnProperty.call(METHODS, name)) {
    throw new LensError(`Unknown method "${name}"; known methods: ${Object.keys(METHODS).join(', ')}.`, 'bad-request');
  }
  return METHODS[name as MethodName];
}
