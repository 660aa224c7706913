/**
 * Test page for src/client/generator-runner.ts: one GeneratorRunner (the page's single worker) on the demo model,
 * with helpers to generate on a backend, simulate a WebGPU device loss in the running worker, and read what the
 * runner did. Events are recorded as JSON-safe summaries (preview bytes dropped).
 */
import { demoModelSource, GeneratorRunner } from '../../src/client/generator-runner.ts';
import type { BackendPreference, LoadRequest, WorkerEvent } from '../../src/client/protocol.ts';

export interface RunnerRun {
  ok: boolean;
  error?: { name: string; message: string };
  backend?: string;
  width?: number;
  height?: number;
  /** Distinct byte values in the first image (a blank image has 1). */
  distinct?: number;
  /** 'log' messages and event types, in order. */
  events: string[];
  replacedWorkers: number;
}

const runner = new GeneratorRunner();

function loadFor(backend: BackendPreference): LoadRequest {
  return { ...(demoModelSource({ credentials: undefined, client: runner.client(), onEvent: () => undefined }) as LoadRequest), backend };
}

async function generate(backend: BackendPreference, options: { loseDeviceAtStep?: number } = {}): Promise<RunnerRun> {
  const events: string[] = [];
  let lost = false;
  const onEvent = (e: WorkerEvent) => {
    events.push(e.type === 'log' ? `log ${e.level}: ${e.message}` : e.type);
    // A loss in the middle of Stage C of the first attempt (the retry runs in a new worker: never lost).
    if (!lost && options.loseDeviceAtStep !== undefined && e.type === 'step' && e.stage === 'prior' && e.step === options.loseDeviceAtStep) {
      lost = true;
      void runner.client().simulateDeviceLoss().then((ok) => events.push(`simulateDeviceLoss → ${ok}`));
    }
  };
  try {
    const r = await runner.generate(loadFor(backend), {
      prompt: '1girl, solo', width: 128, height: 128, seed: 7, stageC: { steps: 3, cfg: 4 }, stageB: { steps: 1, cfg: 1.1 },
    }, { onEvent });
    const img = r.images[0];
    return { ok: true, backend: r.backend, width: img.width, height: img.height, distinct: new Set(img.rgb).size, events, replacedWorkers: runner.replacedWorkers };
  } catch (e) {
    const err = e as Error;
    return { ok: false, error: { name: err.name, message: err.message }, events, replacedWorkers: runner.replacedWorkers };
  }
}

declare global {
  interface Window {
    soteRunnerReady?: boolean;
    soteRunner?: {
      generate: typeof generate;
      /** Loses the current worker's device now (between generations). */
      loseDevice(): Promise<boolean>;
    };
  }
}

window.soteRunner = { generate, loseDevice: () => runner.client().simulateDeviceLoss() };
window.soteRunnerReady = true;
