/**
 * Test page for the queue API: installs window.sote exactly as an app would (installSote), with the built-in demo
 * model (and its tiny safety checker) forced onto WASM (fast and deterministic here; SwiftShader WebGPU is slow) and short webhook back-off.
 * `window.soteApiTest` has the few helpers a test cannot write inside page.evaluate without imports.
 */
import { demoModelSource } from '../../src/client/generator-runner.ts';
import { installSote } from '../../src/client/sote.ts';
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
function describeError(e: unknown): { name: string; message: string; status?: number; body?: unknown } {
  if (!(e instanceof Error)) return { name: typeof e, message: String(e) };
  const extra = e as Error & { status?: unknown; body?: unknown };
  return { name: e.name, message: e.message, status: typeof extra.status === 'number' ? extra.status : undefined, body: extra.body };
}

declare global {
  interface Window {
    soteApiReady?: boolean;
    soteApiTest?: { inspectPng: typeof inspectPng; describeError: typeof describeError };
  }
}

installSote(window, {
  modelSource: async (context) => ({ ...(await demoModelSource(context)), backend: 'wasm' }),
  webhook: { attempts: 4, initialDelayMs: 200, timeoutMs: 5000 },
});
window.soteApiTest = { inspectPng, describeError };
window.soteApiReady = true;
