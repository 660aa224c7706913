/**
 * PNG output with generation parameters, in Node and in the browser: 8-bit RGB → PNG bytes (fast-png, pure JS)
 * carrying an A1111-style `parameters` text chunk, and the reverse (read the chunk back and parse it), so an image
 * saved from the CLI or the page can restore its settings.
 *
 * The `parameters` text (as AUTOMATIC1111 writes it, and as tools that read it expect):
 *   <prompt, possibly several lines>
 *   Negative prompt: <negative prompt>            (omitted when empty)
 *   Steps: 25, Sampler: …, CFG scale: 8, Seed: 123, Size: 1024x1536, Model: …, Second stage steps: 10, Second stage CFG scale: 2
 * With a k-diffusion sampler, A1111's `Schedule type` follows `Sampler` (`Sampler: DPM++ 2M, Schedule type: SGM Uniform`),
 * and the second stage's sampler is written as `Second stage sampler` / `Second stage schedule type`.
 * Settings values containing ',', ':' or '"' are written as JSON strings (A1111 quotes them the same way).
 *
 * Chunk encoding: like PIL's PngInfo.add_text (what A1111 uses), Latin-1 text goes into a tEXt chunk; text with
 * other characters (non-Latin prompts) into an uncompressed iTXt chunk, UTF-8. Reading accepts both; compressed
 * zTXt / iTXt chunks are not read (no writer we target produces them for `parameters`).
 */
import { encode as encodePngImage } from 'fast-png';

/** A generated image: row-major RGB, 3 bytes per pixel, rgb.length = width·height·3. */
export interface RgbImage {
  width: number;
  height: number;
  rgb: Uint8Array;
}

/** What the `parameters` chunk records. */
export interface GenerationParameters {
  prompt: string;
  negativePrompt: string;
  /** First stage (Stage C) steps and CFG. */
  steps: number;
  cfgScale: number;
  sampler: string;
  /** A1111 `Schedule type` of the first stage (k-diffusion samplers only), e.g. 'SGM Uniform'. */
  scheduleType?: string;
  /** Decimal string: fal seeds go up to 2^64−1, beyond a JS number. */
  seed: string;
  width: number;
  height: number;
  model: string;
  /** Second stage (Stage B) steps and CFG. */
  secondStageSteps: number;
  secondStageCfgScale: number;
  /** Second stage sampler and schedule type, when not the default DDPM. */
  secondStageSampler?: string;
  secondStageScheduleType?: string;
  /** Any other settings found when parsing (key → raw value), in order. */
  extra?: Record<string, string>;
}

export const PARAMETERS_KEYWORD = 'parameters';

const PNG_SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

/** Settings keys in the order they are written; the parser maps them back to fields. */
const KEYS = {
  steps: 'Steps',
  sampler: 'Sampler',
  scheduleType: 'Schedule type',
  cfgScale: 'CFG scale',
  seed: 'Seed',
  size: 'Size',
  model: 'Model',
  secondStageSteps: 'Second stage steps',
  secondStageSampler: 'Second stage sampler',
  secondStageScheduleType: 'Second stage schedule type',
  secondStageCfgScale: 'Second stage CFG scale',
} as const;

function settingValue(v: string | number): string {
  const s = String(v);
  return /[,:"\n]/.test(s) ? JSON.stringify(s) : s;
}

export function formatParameters(p: GenerationParameters): string {
  const optional = (key: string, v: string | undefined): [string, string][] => (v === undefined ? [] : [[key, v]]);
  const settings: [string, string | number][] = [
    [KEYS.steps, p.steps],
    [KEYS.sampler, p.sampler],
    ...optional(KEYS.scheduleType, p.scheduleType),
    [KEYS.cfgScale, p.cfgScale],
    [KEYS.seed, p.seed],
    [KEYS.size, `${p.width}x${p.height}`],
    [KEYS.model, p.model],
    [KEYS.secondStageSteps, p.secondStageSteps],
    ...optional(KEYS.secondStageSampler, p.secondStageSampler),
    ...optional(KEYS.secondStageScheduleType, p.secondStageScheduleType),
    [KEYS.secondStageCfgScale, p.secondStageCfgScale],
    ...Object.entries(p.extra ?? {}),
  ];
  const lines = [p.prompt];
  if (p.negativePrompt) lines.push(`Negative prompt: ${p.negativePrompt}`);
  lines.push(settings.map(([k, v]) => `${k}: ${settingValue(v)}`).join(', '));
  return lines.join('\n');
}

/** A1111's settings-line grammar: `Key: value` pairs, values either a JSON string or up to the next comma. */
const SETTING_RE = /\s*([\w][\w \-/]*):\s*("(?:\\.|[^\\"])*"|[^,]*)(?:,|$)/g;

/**
 * Parses an A1111-style parameters text. The last line is the settings line when it has a `Steps:` entry;
 * everything before "Negative prompt:" is the prompt, everything after it (to the settings line) the negative.
 * Missing numeric settings parse as NaN, missing strings as ''.
 */
export function parseParameters(text: string): GenerationParameters {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  let settingsLine = '';
  if (lines.length && /(^|,\s*)Steps:\s*/.test(lines[lines.length - 1])) settingsLine = lines.pop()!;
  const negAt = lines.findIndex((l) => l.startsWith('Negative prompt:'));
  const prompt = (negAt < 0 ? lines : lines.slice(0, negAt)).join('\n').trim();
  const negativePrompt = negAt < 0 ? '' : [lines[negAt].slice('Negative prompt:'.length), ...lines.slice(negAt + 1)].join('\n').trim();
  const settings = new Map<string, string>();
  for (const m of settingsLine.matchAll(SETTING_RE)) {
    const raw = m[2].trim();
    let value = raw;
    if (raw.startsWith('"')) {
      try {
        value = JSON.parse(raw) as string;
      } catch {
        value = raw.slice(1, -1);
      }
    }
    settings.set(m[1].trim(), value);
  }
  const take = (k: string) => {
    const v = settings.get(k);
    settings.delete(k);
    return v;
  };
  const num = (k: string) => {
    const v = take(k);
    return v === undefined || v === '' ? NaN : Number(v);
  };
  const size = /^(\d+)x(\d+)$/.exec(take(KEYS.size) ?? '');
  const p: GenerationParameters = {
    prompt,
    negativePrompt,
    steps: num(KEYS.steps),
    sampler: take(KEYS.sampler) ?? '',
    cfgScale: num(KEYS.cfgScale),
    seed: take(KEYS.seed) ?? '',
    width: size ? Number(size[1]) : NaN,
    height: size ? Number(size[2]) : NaN,
    model: take(KEYS.model) ?? '',
    secondStageSteps: num(KEYS.secondStageSteps),
    secondStageCfgScale: num(KEYS.secondStageCfgScale),
  };
  for (const key of ['scheduleType', 'secondStageSampler', 'secondStageScheduleType'] as const) {
    const v = take(KEYS[key]);
    if (v !== undefined) p[key] = v;
  }
  if (settings.size) p.extra = Object.fromEntries(settings);
  return p;
}

// ---- PNG chunks ----

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const isLatin1 = (s: string) => /^[\u0000-\u00ff]*$/.test(s);

/** One PNG chunk: length, type, data, CRC over type + data. */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** Uncompressed iTXt: keyword NUL, compression flag 0, method 0, empty language tag NUL, empty translated keyword NUL, UTF-8 text. */
function itxtChunk(keyword: string, text: string): Uint8Array {
  const kw = Uint8Array.from(keyword, (c) => c.charCodeAt(0));
  const body = new TextEncoder().encode(text);
  const data = new Uint8Array(kw.length + 5 + body.length);
  data.set(kw);
  // bytes kw.length … kw.length+4 stay 0: NUL, flag, method, NUL (language), NUL (translated keyword)
  data.set(body, kw.length + 5);
  return chunk('iTXt', data);
}

/**
 * Encodes 8-bit RGB as PNG with optional text chunks (keyword → text; keywords are Latin-1, 1–79 characters).
 * @param image rgb [height, width, 3] row-major.
 */
export function encodePng(image: RgbImage, text: Record<string, string> = {}): Uint8Array {
  if (image.rgb.length !== image.width * image.height * 3) {
    throw new RangeError(`RGB data has ${image.rgb.length} bytes, ${image.width}×${image.height} needs ${image.width * image.height * 3}`);
  }
  const latin1: Record<string, string> = {};
  const utf8: [string, string][] = [];
  for (const [k, v] of Object.entries(text)) {
    if (!k.length || k.length > 79 || !isLatin1(k)) throw new RangeError(`PNG text keyword "${k}" must be 1–79 Latin-1 characters`);
    if (isLatin1(v)) latin1[k] = v;
    else utf8.push([k, v]);
  }
  const png = encodePngImage({ width: image.width, height: image.height, data: image.rgb, depth: 8, channels: 3, text: latin1 });
  if (!utf8.length) return png;
  // fast-png writes tEXt only (Latin-1): splice iTXt chunks in before IEND (the last 12 bytes).
  const extra = utf8.map(([k, v]) => itxtChunk(k, v));
  const out = new Uint8Array(png.length + extra.reduce((a, c) => a + c.length, 0));
  out.set(png.subarray(0, png.length - 12));
  let at = png.length - 12;
  for (const c of extra) {
    out.set(c, at);
    at += c.length;
  }
  out.set(png.subarray(png.length - 12), at);
  return out;
}

/** Encodes an image with its generation parameters in the `parameters` chunk. */
export function encodePngWithParameters(image: RgbImage, parameters: GenerationParameters | string): Uint8Array {
  return encodePng(image, { [PARAMETERS_KEYWORD]: typeof parameters === 'string' ? parameters : formatParameters(parameters) });
}

/** The uncompressed tEXt and iTXt chunks of a PNG (keyword → text; a later chunk with the same keyword wins). */
export function readPngText(png: Uint8Array): Record<string, string> {
  if (png.length < 8 || PNG_SIGNATURE.some((b, i) => png[i] !== b)) throw new Error('not a PNG file (bad signature)');
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const latin1 = new TextDecoder('latin1');
  const utf8 = new TextDecoder('utf-8');
  const text: Record<string, string> = {};
  let at = 8;
  while (at + 12 <= png.length) {
    const length = view.getUint32(at);
    const type = latin1.decode(png.subarray(at + 4, at + 8));
    const data = png.subarray(at + 8, Math.min(png.length, at + 8 + length));
    if (type === 'tEXt') {
      const nul = data.indexOf(0);
      if (nul > 0) text[latin1.decode(data.subarray(0, nul))] = latin1.decode(data.subarray(nul + 1));
    } else if (type === 'iTXt') {
      const nul = data.indexOf(0);
      if (nul > 0 && data[nul + 1] === 0) {
        const lang = data.indexOf(0, nul + 3);
        const translated = lang < 0 ? -1 : data.indexOf(0, lang + 1);
        if (translated >= 0) text[latin1.decode(data.subarray(0, nul))] = utf8.decode(data.subarray(translated + 1));
      }
    } else if (type === 'IEND') {
      break;
    }
    at += 12 + length;
  }
  return text;
}

/** The parsed `parameters` chunk of a PNG, or undefined when it has none. */
export function readPngParameters(png: Uint8Array): GenerationParameters | undefined {
  const text = readPngText(png)[PARAMETERS_KEYWORD];
  return text === undefined ? undefined : parseParameters(text);
}
