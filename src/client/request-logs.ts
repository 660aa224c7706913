/**
 * Worker events → request log lines (what a person watching would want: model loading, each stage start and
 * end, step i/n, safety check, timings). Previews are not logged (they are images), and the worker's 'backend' event is
 * skipped because the worker also sends the same fact as a 'log' event.
 */
import { safetyLogMessage } from '../safety/safety-checker.ts';
import type { GenerationStage, WorkerEvent } from './protocol.ts';
import type { LogLevel, OutputTimings, RequestLog } from './queue-types.ts';

export function logLine(level: LogLevel, message: string, at: Date = new Date()): RequestLog {
  return { message, level, source: 'USER', timestamp: at.toISOString() };
}

export const STAGE_LABELS: Record<GenerationStage, string> = {
  text_encoder: 'text encoder (CLIP)',
  prior: 'Stage C (prior)',
  decoder: 'Stage B (decoder)',
  vqgan: 'Stage A (VQGAN decode)',
};

/** The log line for an event, or undefined when the event is not logged. */
export function eventLogLine(e: WorkerEvent): RequestLog | undefined {
  switch (e.type) {
    case 'model-loading':
      return logLine('INFO', `loading model ${e.url}`);
    case 'model-loaded':
      return logLine('INFO', `model loaded in ${(e.ms / 1000).toFixed(2)} s`);
    case 'session':
      return logLine('DEBUG', `${e.component} session ready in ${e.ms.toFixed(0)} ms`);
    case 'stage-start':
      return logLine('INFO', `${STAGE_LABELS[e.stage]} started`);
    case 'stage-end':
      return logLine('INFO', `${STAGE_LABELS[e.stage]} done in ${(e.ms / 1000).toFixed(2)} s`);
    case 'step':
      return logLine('INFO', `${STAGE_LABELS[e.stage]} step ${e.step}/${e.steps} (${e.ms.toFixed(0)} ms)`);
    case 'log':
      return logLine(e.level, e.message);
    case 'safety-loaded':
    case 'safety-image':
    case 'safety-disabled':
      return logLine('INFO', safetyLogMessage(e));
    case 'backend':
    case 'preview':
    case 'session-start':
    case 'session-progress':
      return undefined;
  }
}

export function timingsLine(t: OutputTimings): RequestLog {
  const s = (v: number) => `${v.toFixed(2)} s`;
  return logLine('INFO',
    `timings: text encoder ${s(t.text_encoder)}, prior ${s(t.prior)}, decoder ${s(t.decoder)}, vqgan ${s(t.vqgan)}, ` +
    `safety checker ${s(t.safety_checker)}, inference ${s(t.inference)}`);
}
