import { describe, expect, it } from 'vitest';
import { DeviceLossState } from './device-loss.ts';

describe('DeviceLossState', () => {
  it('starts usable and lets every backend load', () => {
    const s = new DeviceLossState();
    expect(s.lost).toBeUndefined();
    expect(s.refusesLoad('webgpu')).toBeUndefined();
    expect(s.refusesLoad('wasm')).toBeUndefined();
  });

  it('a loss fails calls until the next load, and tells the listener each time', () => {
    const seen: string[] = [];
    const s = new DeviceLossState((reason) => seen.push(reason));
    s.lose('driver reset');
    expect(s.lost).toBe('driver reset');
    expect(seen).toEqual(['driver reset']);
    s.beginLoad();
    expect(s.lost).toBeUndefined();
    s.lose('again');
    expect(seen).toEqual(['driver reset', 'again']);
  });

  it('after a loss a WebGPU load is refused for good, a WASM load is not', () => {
    const s = new DeviceLossState();
    s.lose('driver reset');
    for (let load = 0; load < 2; load++) {
      s.beginLoad();
      expect(s.refusesLoad('webgpu')).toBe('driver reset (this worker cannot get a new device: start a new worker)');
      expect(s.refusesLoad('wasm')).toBeUndefined();
    }
  });
});
