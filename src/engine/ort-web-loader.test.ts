import { describe, expect, it } from 'vitest';
import { chooseOrtWebBuild, hasJspi, OrtWebBuildError } from './ort-web-loader.ts';

describe('chooseOrtWebBuild', () => {
  it('auto takes JSPI when WebAssembly.Suspending exists, asyncify otherwise', () => {
    expect(chooseOrtWebBuild('auto', true).build).toBe('jspi');
    expect(chooseOrtWebBuild('auto', false)).toMatchObject({ build: 'asyncify', reason: expect.stringMatching(/no WebAssembly\.Suspending/) });
  });
  it('a forced asyncify build wins over JSPI; a forced JSPI build without support is a named error', () => {
    expect(chooseOrtWebBuild('asyncify', true).build).toBe('asyncify');
    expect(chooseOrtWebBuild('jspi', true).build).toBe('jspi');
    expect(() => chooseOrtWebBuild('jspi', false)).toThrow(OrtWebBuildError);
    expect(() => chooseOrtWebBuild('jspi', false)).toThrow(/Chromium 137/);
  });
  it('hasJspi reads WebAssembly.Suspending', () => {
    expect(hasJspi({})).toBe(false);
    expect(hasJspi({ Suspending: function Suspending() {} })).toBe(true);
  });
});
