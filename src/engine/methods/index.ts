// Method registry: one small file per method, all running on the shared pipeline (pipeline.ts).
// Keyed by the protocol's MethodName, so adding a name there without a method here fails to compile.
import type { MethodName } from '../../protocol/types';
import { EngineError } from '../errors';
import type { CamMethod } from '../pipeline';
import { gradCam } from './gradCam';

export const METHODS: Readonly<Record<MethodName, CamMethod>> = {
  gradcam: gradCam,
};

export function getMethod(name: string): CamMethod {
  if (!Object.prototype.hasOwnProperty.call(METHODS, name)) {
    throw new EngineError(`Unknown method "${name}"; known methods: ${Object.keys(METHODS).join(', ')}.`, 'bad-request');
  }
  return METHODS[name as MethodName];
}
