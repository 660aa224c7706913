/**
 * Which safety checker a loaded model gets: the folder the load request names, else the one installed with the
 * model (served from the model store), else none — then `enable_safety_checker: true` requests fail with
 * SafetyCheckerUnavailableError. Either is loaded on the first generation that enables it, never otherwise.
 */
import type { SafetyCheckerOptions, SafetyDevice } from './safety-checker.ts';

/** A transformers.js image-classification folder at `${modelBase}${modelId}/` (LoadOptions.safetyChecker). */
export interface RequestedSafetyChecker {
  modelBase: string;
  modelId: string;
}

/** Where a checker is and how to fetch it, without the onnxruntime module (the caller adds `ort`). */
export type SafetyCheckerPlace = Omit<SafetyCheckerOptions, 'ort'>;

/**
 * @param requested the load request's checker; its `modelBase` may be relative to `pageUrl`
 * @param installed the installed model's checker (store/open-model.ts), already absolute
 */
export function chooseSafetyChecker(
  requested: RequestedSafetyChecker | undefined,
  installed: Omit<SafetyCheckerPlace, 'device'> | undefined,
  pageUrl: string,
  device: SafetyDevice,
): SafetyCheckerPlace | undefined {
  // An absolute base: transformers.js treats it as our own host (see safety-checker.ts).
  if (requested) return { modelBase: new URL(requested.modelBase, pageUrl).href, modelId: requested.modelId, device };
  if (installed) return { ...installed, device };
  return undefined;
}
