/**
 * The hook through which the queue runs a safety checker over each generation's images (fal `postprocess_images`
 * semantics: a flagged image is replaced by an all-black one of the same size and has_nsfw_concepts[i] = true).
 *
 * The checker itself lives in src/safety/ (another engineer's); its `applySafetyChecker` result has exactly this
 * shape, so wiring it is
 *   (images, enabled, log) => applySafetyChecker(images, enabled, getChecker, (e) => log('INFO', safetyLogMessage(e)))
 * Until it is wired, `noSafetyChecker` reports every image as not flagged and says so in the logs: it does not
 * pretend to classify anything.
 */
import type { GeneratedImage } from './protocol.ts';
import type { LogLevel } from './queue-types.ts';

export interface SafetyHookResult {
  /** Same order and sizes as the input. */
  images: GeneratedImage[];
  /** One per image. */
  has_nsfw_concepts: boolean[];
  /** Seconds; absent when no checker ran. */
  timings: { safety_checker?: number };
}

export type SafetyHook = (
  images: GeneratedImage[],
  enabled: boolean,
  log: (level: LogLevel, message: string) => void,
) => Promise<SafetyHookResult>;

export const noSafetyChecker: SafetyHook = async (images, enabled, log) => {
  log(enabled ? 'WARN' : 'INFO', enabled
    ? `no safety checker is installed in this client: ${images.length} image(s) not checked, has_nsfw_concepts all false`
    : `safety checker disabled: ${images.length} image(s) not checked`);
  return { images, has_nsfw_concepts: images.map(() => false), timings: {} };
};
