import { describe, expect, it } from 'vitest';
import { chooseSafetyChecker } from './checker-choice.ts';

const page = 'http://127.0.0.1:5173/workers/generator.worker.ts';
const installed = {
  modelBase: 'http://127.0.0.1:5173/sote-store/m%3Aint8/',
  modelId: 'safety',
  displayName: 'Falconsai/nsfw_image_detection@abc',
  fetch: globalThis.fetch,
};

describe('chooseSafetyChecker', () => {
  it('the requested folder wins over the installed checker, its base made absolute against the page', () => {
    expect(chooseSafetyChecker({ modelBase: '/models/', modelId: 'Falconsai/nsfw_image_detection' }, installed, page, 'webgpu')).toEqual({
      modelBase: 'http://127.0.0.1:5173/models/',
      modelId: 'Falconsai/nsfw_image_detection',
      device: 'webgpu',
    });
  });

  it('without a request the installed checker is used, with its store fetch and name', () => {
    const choice = chooseSafetyChecker(undefined, installed, page, 'wasm');
    expect(choice).toEqual({ ...installed, device: 'wasm' });
    expect(choice?.fetch).toBe(installed.fetch);
  });

  it('neither: no checker', () => {
    expect(chooseSafetyChecker(undefined, undefined, page, 'wasm')).toBeUndefined();
  });
});
