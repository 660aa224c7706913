/**
 * Stage C / Stage B configurations in the official constructor format ({"class","module","kwargs"}, as the
 * golden *_config.json files and the official training configs use), with presets for the released sizes.
 */

export interface UNetKwargs {
  c_in: number;
  c_out: number;
  c_r: number;
  patch_size: number;
  c_cond: number;
  c_hidden: number[];
  nhead: number[];
  /** [down per level (shallow→deep), up per level (deep→shallow)] */
  blocks: [number[], number[]];
  block_repeat: [number[], number[]];
  level_config: string[];
  kernel_size: number;
  self_attn: boolean | boolean[];
  t_conds: string[];
}

export interface StageCKwargs extends UNetKwargs {
  c_clip_text: number;
  c_clip_text_pooled: number;
  c_clip_img: number;
  c_clip_seq: number;
  switch_level: boolean[];
}

export interface StageBKwargs extends UNetKwargs {
  c_clip: number;
  c_clip_seq: number;
  c_effnet: number;
  c_pixels: number;
}

export type StageCConfig = { class: 'StageC'; kwargs: StageCKwargs };
export type StageBConfig = { class: 'StageB'; kwargs: StageBKwargs };

const STAGE_C_DEFAULTS: StageCKwargs = {
  c_in: 16, c_out: 16, c_r: 64, patch_size: 1, c_cond: 2048, c_hidden: [2048, 2048], nhead: [32, 32],
  blocks: [[8, 24], [24, 8]], block_repeat: [[1, 1], [1, 1]], level_config: ['CTA', 'CTA'],
  c_clip_text: 1280, c_clip_text_pooled: 1280, c_clip_img: 768, c_clip_seq: 4, kernel_size: 3,
  self_attn: true, t_conds: ['sca', 'crp'], switch_level: [false],
};

const STAGE_B_DEFAULTS: StageBKwargs = {
  c_in: 4, c_out: 4, c_r: 64, patch_size: 2, c_cond: 1280, c_hidden: [320, 640, 1280, 1280],
  nhead: [-1, -1, 20, 20], blocks: [[2, 6, 28, 6], [6, 28, 6, 2]], block_repeat: [[1, 1, 1, 1], [3, 3, 2, 2]],
  level_config: ['CT', 'CT', 'CTA', 'CTA'], c_clip: 1280, c_clip_seq: 4, c_effnet: 16, c_pixels: 3,
  kernel_size: 3, self_attn: true, t_conds: ['sca'],
};

/** The released checkpoints (parameter counts in the spec §4.1, §5.1). */
export const STAGE_C_PRESETS = {
  /** 3.6B — Stable Cascade's and SoteDiffusion's Stage C. */
  big: { class: 'StageC', kwargs: STAGE_C_DEFAULTS },
  /** 1B "lite". */
  lite: {
    class: 'StageC',
    kwargs: { ...STAGE_C_DEFAULTS, c_cond: 1536, c_hidden: [1536, 1536], nhead: [24, 24], blocks: [[4, 12], [12, 4]] },
  },
} satisfies Record<string, StageCConfig>;

export const STAGE_B_PRESETS = {
  /** 1.5B ("3B" in train_b) — SoteDiffusion's Stage B. */
  big: { class: 'StageB', kwargs: STAGE_B_DEFAULTS },
  /** 700M "lite". */
  lite: {
    class: 'StageB',
    kwargs: {
      ...STAGE_B_DEFAULTS, c_hidden: [320, 576, 1152, 1152], nhead: [-1, 9, 18, 18],
      blocks: [[2, 4, 14, 4], [4, 14, 4, 2]], block_repeat: [[1, 1, 1, 1], [2, 2, 2, 2]],
    },
  },
} satisfies Record<string, StageBConfig>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function mergeKwargs<T extends object>(cls: string, defaults: T, raw: unknown): T {
  if (typeof raw !== 'object' || raw === null) throw new ConfigError(`${cls} config must be an object`);
  const obj = raw as { class?: unknown; kwargs?: unknown };
  if (obj.class !== undefined && obj.class !== cls) throw new ConfigError(`expected a ${cls} config, got class ${JSON.stringify(obj.class)}`);
  const kwargs = (obj.kwargs ?? raw) as Record<string, unknown>;
  const known = new Set(Object.keys(defaults));
  const ignored = new Set(['dropout', 'class', 'module', 'kwargs']);
  const unknown = Object.keys(kwargs).filter((k) => !known.has(k) && !ignored.has(k));
  if (unknown.length) throw new ConfigError(`${cls} config has unknown argument(s): ${unknown.join(', ')}`);
  const merged = { ...defaults } as Record<string, unknown>;
  for (const [k, v] of Object.entries(kwargs)) if (known.has(k)) merged[k] = v;
  return merged as T;
}

function validateUNet(cls: string, k: UNetKwargs): void {
  const levels = k.c_hidden.length;
  const lists: [string, unknown[]][] = [
    ['nhead', k.nhead], ['level_config', k.level_config], ['blocks[0]', k.blocks[0]], ['blocks[1]', k.blocks[1]],
    ['block_repeat[0]', k.block_repeat[0]], ['block_repeat[1]', k.block_repeat[1]],
  ];
  for (const [name, list] of lists) {
    if (!Array.isArray(list) || list.length !== levels) throw new ConfigError(`${cls}: ${name} must have ${levels} entries (one per level)`);
  }
  k.level_config.forEach((lc, i) => {
    if (!/^[CTAF]+$/.test(lc)) throw new ConfigError(`${cls}: level_config[${i}] "${lc}" may only use C, T, A, F`);
    if (lc.includes('A') && (k.nhead[i] <= 0 || k.c_hidden[i] % k.nhead[i] !== 0)) {
      throw new ConfigError(`${cls}: level ${i} has attention but nhead ${k.nhead[i]} does not divide c_hidden ${k.c_hidden[i]}`);
    }
  });
}

export function parseStageCConfig(raw: unknown): StageCConfig {
  const kwargs = mergeKwargs('StageC', STAGE_C_DEFAULTS, raw);
  validateUNet('StageC', kwargs);
  return { class: 'StageC', kwargs };
}

export function parseStageBConfig(raw: unknown): StageBConfig {
  const kwargs = mergeKwargs('StageB', STAGE_B_DEFAULTS, raw);
  validateUNet('StageB', kwargs);
  return { class: 'StageB', kwargs };
}

export function selfAttnAt(k: UNetKwargs, level: number): boolean {
  return Array.isArray(k.self_attn) ? k.self_attn[level] : k.self_attn;
}
