/**
 * Test page for the queue API: installs window.sote exactly as an app would (installSote), with the built-in demo
 * model (and its tiny safety checker) forced onto WASM (fast and deterministic here; SwiftShader WebGPU is slow) and short webhook back-off.
 * `window.soteApiTest` has the few helpers a test cannot write inside page.evaluate without imports.
 */
import { demoModelSource, type ModelSource } from '../../src/client/generator-runner.ts';
import { ApiError, ValidationError } from '../../src/client/api-errors.ts';
import type { SoteConfig } from '../../src/client/client-types.ts';
import { createFalClient, installSote, type SoteClient } from '../../src/client/sote.ts';
import { readPngParameters, type GenerationParameters } from '../../src/pipeline/png.ts';

export interface PngReport {
  contentType: string;
  bytes: number;
  /** From the IHDR chunk. */
  width: number;
  height: number;
  parameters: GenerationParameters | undefined;
}

/** Fetches an image URL (blob: or data:) and reads its PNG header and parameters chunk. */
async function inspectPng(url: string): Promise<PngReport> {
  const response = await fetch(url);
  const blob = await response.blob();
  const png = new Uint8Array(await blob.arrayBuffer());
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return {
    contentType: blob.type,
    bytes: png.length,
    width: view.getUint32(16),
    height: view.getUint32(20),
    parameters: readPngParameters(png),
  };
}

/** A thrown value as JSON-safe data (status/body for ApiErrors, name/message for the rest). */
function describeError(e: unknown): { name: string; message: string; status?: number; body?: unknown; requestId?: string; timeoutType?: string } {
  if (!(e instanceof Error)) return { name: typeof e, message: String(e) };
  const extra = e as Error & { status?: unknown; body?: unknown; requestId?: unknown; timeoutType?: unknown };
  return {
    name: e.name, message: e.message, status: typeof extra.status === 'number' ? extra.status : undefined, body: extra.body,
    ...(typeof extra.requestId === 'string' ? { requestId: extra.requestId } : {}),
    ...(typeof extra.timeoutType === 'string' ? { timeoutType: extra.timeoutType } : {}),
  };
}

declare global {
  interface Window {
    soteApiReady?: boolean;
    soteApiTest?: {
      inspectPng: typeof inspectPng;
      describeError: typeof describeError;
      /** createFalClient(config) with the demo model on WASM and requests in memory (a second worker). */
      createFalClient: (config?: SoteConfig) => SoteClient;
      ApiError: typeof ApiError;
      ValidationError: typeof ValidationError;
    };
  }
}

const demoOnWasm: ModelSource = async (context) => ({ ...(await demoModelSource(context)), backend: 'wasm' });
installSote(window, {
  modelSource: demoOnWasm,
  webhook: { attempts: 4, initialDelayMs: 200, timeoutMs: 5000 },
});
window.soteApiTest = {
  inspectPng,
  describeError,
  createFalClient: (config) => createFalClient(config, { modelSource: demoOnWasm, store: null }),
  ApiError,
  ValidationError,
};
window.soteApiReady = true;
