/**
 * The WebGPU device-loss state of one onnxruntime-web module (one generator worker).
 *
 * onnxruntime-web keeps its GPUDevice for the life of the module, so a loss has two lifetimes:
 * - `lost`: the loaded model's device is gone; every call fails until the next load, which clears it (a WASM
 *   model may then be loaded and used);
 * - `dead`: never cleared; a later load on WebGPU is refused, since only a new worker gets a new device
 *   (GeneratorRunner replaces the worker and retries once).
 * Throwing the user-facing DeviceLostError is the caller's business (engine code never imports client code).
 */
import { watchDeviceLost, type BrowserBackend, type GpuDeviceLike } from './webgpu-adapter.ts';

export class DeviceLossState {
  #lost: string | undefined;
  #dead: string | undefined;

  /** @param onLost runs at each loss (e.g. aborts the running generation) */
  constructor(private readonly onLost: (reason: string) => void = () => undefined) {}

  /** Why the loaded model's device is gone; undefined while it is usable (or after the next load started). */
  get lost(): string | undefined {
    return this.#lost;
  }

  /** Marks the device lost for this load and for the life of the module. */
  lose(reason: string): void {
    this.#lost = reason;
    this.#dead = reason;
    this.onLost(reason);
  }

  /** Calls lose() when the device reports a loss (a deliberate destroy() of our own release does not count). */
  watch(device: GpuDeviceLike): void {
    watchDeviceLost(device, (reason) => this.lose(reason));
  }

  /** A new load starts: an earlier loss no longer fails calls. */
  beginLoad(): void {
    this.#lost = undefined;
  }

  /** Why a load on `backend` cannot proceed in this module (a WebGPU load after any loss), or undefined. */
  refusesLoad(backend: BrowserBackend): string | undefined {
    return backend === 'webgpu' && this.#dead ? `${this.#dead} (this worker cannot get a new device: start a new worker)` : undefined;
  }
}
