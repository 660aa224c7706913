import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import {
  encodePng, encodePngWithParameters, formatParameters, parseParameters, readPngParameters, readPngText, type GenerationParameters,
} from './png.ts';

const params: GenerationParameters = {
  prompt: 'newest, extremely aesthetic, best quality, 1girl, solo',
  negativePrompt: 'worst quality, low quality',
  steps: 25,
  cfgScale: 8,
  sampler: 'DDPM (official gdf)',
  seed: '18446744073709551615',
  width: 1024,
  height: 1536,
  model: 'tiny-demo',
  secondStageSteps: 10,
  secondStageCfgScale: 2,
};

function image(width: number, height: number) {
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 37 + (i >> 5)) & 0xff;
  return { width, height, rgb };
}

describe('parameters text', () => {
  it('formats the A1111 layout', () => {
    expect(formatParameters(params)).toBe(
      'newest, extremely aesthetic, best quality, 1girl, solo\n' +
        'Negative prompt: worst quality, low quality\n' +
        'Steps: 25, Sampler: DDPM (official gdf), CFG scale: 8, Seed: 18446744073709551615, Size: 1024x1536, ' +
        'Model: tiny-demo, Second stage steps: 10, Second stage CFG scale: 2',
    );
  });

  it('round-trips, including multi-line prompts, quoted values, no negative prompt and extra keys', () => {
    expect(parseParameters(formatParameters(params))).toEqual(params);
    const odd: GenerationParameters = {
      ...params, prompt: 'line one,\nline two: colon', negativePrompt: '', model: 'a, "quoted" model', extra: { 'Clip skip': '2' },
    };
    expect(formatParameters(odd)).not.toContain('Negative prompt');
    expect(parseParameters(formatParameters(odd))).toEqual(odd);
  });

  it('writes and reads the samplers with A1111 names (Sampler, Schedule type) and the second stage ones', () => {
    const recommended: GenerationParameters = {
      ...params, steps: 28, cfgScale: 6, sampler: 'DPM++ 2M', scheduleType: 'SGM Uniform',
      secondStageSteps: 14, secondStageCfgScale: 1, secondStageSampler: 'LCM', secondStageScheduleType: 'Exponential',
    };
    const text = formatParameters(recommended);
    expect(text).toContain('Steps: 28, Sampler: DPM++ 2M, Schedule type: SGM Uniform, CFG scale: 6,');
    expect(text).toContain('Second stage steps: 14, Second stage sampler: LCM, Second stage schedule type: Exponential, Second stage CFG scale: 1');
    expect(parseParameters(text)).toEqual(recommended);
    expect(parseParameters('x\nSteps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7')).toMatchObject({ sampler: 'DPM++ 2M', scheduleType: 'Karras' });
  });

  it('parses text written by AUTOMATIC1111', () => {
    const p = parseParameters(
      'masterpiece, 1girl\nNegative prompt: lowres,\nbad anatomy\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 512x768, Model hash: abc, Model: sd15',
    );
    expect(p).toMatchObject({ prompt: 'masterpiece, 1girl', negativePrompt: 'lowres,\nbad anatomy', steps: 20, sampler: 'Euler a', cfgScale: 7, seed: '42', width: 512, height: 768, model: 'sd15' });
    expect(p.extra).toEqual({ 'Model hash': 'abc' });
    expect(Number.isNaN(p.secondStageSteps)).toBe(true);
  });
});

describe('PNG encoding', () => {
  it('encodes RGB pixels exactly with a tEXt parameters chunk', () => {
    const img = image(13, 7);
    const png = encodePngWithParameters(img, params);
    const back = decode(png);
    expect([back.width, back.height, back.channels, back.depth]).toEqual([13, 7, 3, 8]);
    expect(Buffer.from(back.data).equals(Buffer.from(img.rgb))).toBe(true);
    expect(back.text.parameters).toBe(formatParameters(params));
    expect(readPngParameters(png)).toEqual(params);
  });

  it('stores non-Latin-1 text in an iTXt chunk (UTF-8) that still decodes as a valid PNG', () => {
    const unicode = { ...params, prompt: '桜の木の下の少女, 🌸', negativePrompt: 'ぼやけ' };
    const png = encodePngWithParameters(image(4, 3), unicode);
    expect(Buffer.from(png).includes(Buffer.from('iTXt'))).toBe(true);
    expect(decode(png).width).toBe(4); // fast-png checks every CRC
    expect(readPngParameters(png)).toEqual(unicode);
  });

  it('reads other text chunks and rejects bad input', () => {
    const png = encodePng(image(2, 2), { Software: 'sote-webgpu' });
    expect(readPngText(png)).toEqual({ Software: 'sote-webgpu' });
    expect(readPngParameters(png)).toBeUndefined();
    expect(() => readPngText(new Uint8Array(16))).toThrow(/not a PNG/);
    expect(() => encodePng({ width: 2, height: 2, rgb: new Uint8Array(5) })).toThrow(/needs 12/);
  });
});
