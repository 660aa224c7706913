import { describe, expect, it } from 'vitest';
import type { ModelCheckResult } from '../client/protocol.ts';
import { checkProgressText, checkResultLine } from './model-check-view.ts';

const result = (decode: Partial<ModelCheckResult['decode']>): ModelCheckResult => ({
  backend: 'webgpu',
  residency: 'sequential',
  sessions: [
    { component: 'clip_text', ms: 5.25, graphs: 1, reused: false },
    { component: 'stage_c', ms: 1234.4, graphs: 2, reused: false },
    { component: 'stage_b', ms: 45_210, graphs: 2, reused: true },
    { component: 'stage_a', ms: 40, graphs: 1, reused: false },
  ],
  decode: { ms: 150.2, width: 256, height: 256, finite: true, nonFinite: 0, distinct: 3012, ...decode },
});

describe('Test on this device: the row text', () => {
  it('one line: backend, residency, each network, the decode and "finite"', () => {
    expect(checkResultLine(result({}))).toBe(
      'webgpu · residency sequential · sessions: text encoder 5.3 ms, Stage C 1234 ms (2 graphs), Stage B 45.2 s (2 graphs) (already loaded), ' +
      'Stage A 40 ms · decode 256×256 in 150 ms · finite (3012 colours)');
  });
  it('says how many decoded values are not finite', () => {
    expect(checkResultLine(result({ finite: false, nonFinite: 17, distinct: 1 }))).toMatch(/ · NOT finite: 17 of 196608 decoded values are NaN or infinite$/);
  });
  it('ends with the warnings the check logged', () => {
    expect(checkResultLine(result({}), ['stage_c: a stored-data read delivered nothing for 60 s at byte 5 of 9; reopened it (attempt 1)']))
      .toMatch(/ · finite \(3012 colours\) · 1 warning: stage_c: a stored-data read delivered nothing for 60 s at byte 5 of 9; reopened it \(attempt 1\)$/);
  });
  it('progress names the network being loaded and the decode; other events change nothing', () => {
    expect(checkProgressText({ type: 'session-start', component: 'stage_c' })).toBe('loading Stage C…');
    expect(checkProgressText({ type: 'session-progress', component: 'stage_b', loadedBytes: 3 * 2 ** 29, totalBytes: 2 ** 31 }))
      .toMatch(/^loading Stage B… 1\.5\d* GiB of 2(\.0+)? GiB$/);
    expect(checkProgressText({ type: 'stage-start', stage: 'vqgan' })).toBe('decoding the test latent through Stage A…');
    expect(checkProgressText({ type: 'model-loading', url: 'x' })).toBe('loading the model…');
    expect(checkProgressText({ type: 'stage-start', stage: 'prior' })).toBeUndefined();
    expect(checkProgressText({ type: 'session', component: 'stage_c', ms: 3 })).toBeUndefined();
  });
});
