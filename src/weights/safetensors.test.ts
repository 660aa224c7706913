import { describe, expect, it } from 'vitest';
import { needsGolden, openGolden } from '../testing/golden.ts';
import { bytesSource } from './byte-source.ts';
import { SafetensorsFile } from './safetensors.ts';
import { encodeSafetensors } from './safetensors-writer.ts';

describe('safetensors', () => {
  it('round-trips F32/F16/I64 through the writer and reader', async () => {
    const bytes = encodeSafetensors({
      a: { dtype: 'F32', shape: [2, 2], data: new Float32Array([1, -2, 3.5, 0]) },
      h: { dtype: 'F16', shape: [2], data: new Uint16Array([0x3c00, 0xc000]) },
      i: { dtype: 'I64', shape: [1], data: new BigInt64Array([42n]) },
    });
    const f = await SafetensorsFile.open(bytesSource('mem', bytes));
    expect([...(await f.readFloat32('a'))]).toEqual([1, -2, 3.5, 0]);
    expect([...(await f.readFloat32('h'))]).toEqual([1, -2]);
    expect([...(await f.readInt64('i'))]).toEqual([42n]);
  });

  it('reads the golden Stage C weights header', needsGolden('stage_c_weights.safetensors'), async () => {
    const f = await openGolden('stage_c_weights.safetensors');
    expect(f.info('clf.1.weight').shape).toEqual([16, 32, 1, 1]);
    expect(f.metadata.format).toBe('pt');
  });
});
