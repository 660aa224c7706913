/**
 * The node part of the scale benchmark (see scripts/scale.ts): the CLI converts the fixture's checkpoints (int8,
 * then fp16) with onnxruntime-node and generates 1024×1536 with 2 + 2 steps; the second step of each stage is the
 * warm step. FLOPs per step are an estimate from the networks' tensor shapes: 2·(weights of a level)·(positions of
 * that level, which only enabled switch_level downscalers shrink)·(block_repeat passes) for every Linear/Conv,
 * plus 4·T·(T+S)·c per attention pass, times the CFG batch of 2 (stable-cascade-spec §9.2 counts the same way).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decode } from 'fast-png';
import type { AnyModelConfig } from '../src/models/registry.ts';
import { buildModel } from '../src/models/registry.ts';
import { fixtureComponents, type FixtureScale } from '../src/models/released-files.ts';
import { diskBytes, PhaseSampler, processTree, rssBytes, runCommand, type NodePrecision, type PartResult, type ScaleContext } from './scale-support.ts';

const WIDTH = 1024;
const HEIGHT = 1536;

/** Estimated FLOPs of one step of Stage C or B (batch 2) at WIDTH×HEIGHT. */
export function stepFlops(model: AnyModelConfig, width: number, height: number): number {
  if (model.kind !== 'stage_c' && model.kind !== 'stage_b') return 0;
  const k = model.config.kwargs;
  const levels = k.c_hidden.length;
  // Stage C: latent = ceil(side / 42.67); Stage B: Stage A latent (side / 4) patchified by 2.
  const p0 = model.kind === 'stage_c' ? Math.ceil(height / 42.67) * Math.ceil(width / 42.67) : (height / 4 / k.patch_size) * (width / 4 / k.patch_size);
  const clipTokens = model.kind === 'stage_c' ? 77 + 2 * model.config.kwargs.c_clip_seq : model.config.kwargs.c_clip_seq;
  // Stage B halves each side per level; Stage C's only downscaler is disabled (switch_level [false]): one resolution.
  const halvings = (level: number) => (model.kind === 'stage_c' ? model.config.kwargs.switch_level.slice(0, level).filter(Boolean).length : level);
  const positions = (level: number) => p0 / 4 ** halvings(level);
  let flops = 0;
  for (const [name, shape] of buildModel(model).expected) {
    const numel = shape.reduce((a, d) => a * d, 1);
    let level = 0;
    // Blocks run block_repeat times per level (Stage B's up levels 3, 3, 2, 2): weights counted once, run repeatedly.
    let passes = 1;
    const down = /^down_blocks\.(\d+)\./.exec(name);
    const up = /^up_blocks\.(\d+)\./.exec(name);
    if (down) {
      level = Number(down[1]);
      passes = k.block_repeat[0][level];
    } else if (up) {
      level = levels - 1 - Number(up[1]);
      passes = k.block_repeat[1][Number(up[1])];
    } else if (/^(clip|effnet|pixels)_/.test(name) || /mapper/.test(name)) continue; // per-condition, not per-position
    flops += 2 * numel * positions(level) * passes;
    if (name.endsWith('attention.attn.in_proj_weight')) {
      const c = shape[1];
      const t = positions(level);
      flops += 4 * t * (t + clipTokens) * c * passes;
    }
  }
  return 2 * flops;
}

export async function runNodePart(ctx: ScaleContext): Promise<PartResult> {
  const notes: string[] = [];
  const result: PartResult = { name: 'node', ok: false, phases: [], package_bytes: 0, idb_bytes: 0, downloaded_bytes: 0, finite: false, notes, details: {} };
  const work = await mkdtemp(join(ctx.fixtureDir, '..', 'scale-node-'));
  let childPid = 0;
  let phase = 'start';
  const sampler = new PhaseSampler(() => (childPid ? rssBytes(processTree([childPid])) : 0), async () => ({ phase }), 1000, (name) => ctx.log(`  node: ${name}`));
  const setPhase = (name: string) => {
    if (phase === name) return;
    phase = name;
    sampler.setPhase(name);
  };
  const outcomes: boolean[] = [];
  try {
    sampler.start();
    for (const precision of ctx.nodePrecisions) {
      const pkg = join(work, `package-${precision}`);
      try {
        const r = await convertAndGenerate(ctx, precision, work, pkg, (name) => setPhase(`${precision}: ${name}`), (pid) => { childPid = pid; });
        result.details![precision] = r.details;
        notes.push(...r.notes.map((n) => `${precision}: ${n}`));
        result.package_bytes ||= r.packageBytes;
        outcomes.push(r.finite);
      } catch (e) {
        notes.push(`${precision}: FAILED: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
        outcomes.push(false);
      } finally {
        result.disk_bytes = Math.max(result.disk_bytes ?? 0, diskBytes(work));
        // One package on disk at a time: the next precision's conversion must not need both.
        await rm(pkg, { recursive: true, force: true });
      }
    }
    // fp16 is attempted "if the CPU provider runs it": its failure is a reported outcome, not a failed part.
    const int8 = ctx.nodePrecisions.indexOf('int8');
    result.finite = int8 >= 0 ? outcomes[int8] : outcomes.every(Boolean);
    result.ok = result.finite;
    // The failure itself is in the notes (the table prints error and notes side by side).
    if (!result.ok) result.error = `no finite image from ${ctx.nodePrecisions.filter((_, i) => !outcomes[i]).join(', ')}: see the notes`;
  } finally {
    result.phases = sampler.stop();
    await rm(work, { recursive: true, force: true });
  }
  return result;
}

interface PrecisionRun {
  finite: boolean;
  packageBytes: number;
  notes: string[];
  details: Record<string, unknown>;
}

/**
 * One precision: the CLI converts the fixture to `pkg` and generates 1024×1536 with 2 + 2 steps (fp16 with
 * sequential residency: onnxruntime's CPU provider needs several times the fp16 bytes of a network to build its
 * session, so only one at a time can fit).
 */
async function convertAndGenerate(
  ctx: ScaleContext, precision: NodePrecision, work: string, pkg: string, setPhase: (name: string) => void, onPid: (pid: number) => void,
): Promise<PrecisionRun> {
  const notes: string[] = [];
  const resolveDir = join(ctx.fixtureDir, 'hub', ctx.descriptor.source.repo, 'resolve', ctx.descriptor.source.revision);
  const fixture = JSON.parse(await readFile(join(ctx.fixtureDir, 'fixture.json'), 'utf8').catch(() => '{}')) as { scale?: FixtureScale };
  const scale: FixtureScale = fixture.scale ?? 'full';
  const raw = JSON.parse(await readFile(join(ctx.fixtureDir, 'descriptor.json'), 'utf8')) as { source: { configs?: Record<string, unknown> } };
  const tsx = ['node_modules/tsx/dist/cli.mjs', 'src/cli/main.ts'];
  const residency = precision === 'fp16' ? 'sequential' : 'all';
  const configArgs: string[] = [];
  for (const [kind, config] of Object.entries(raw.source.configs ?? {})) {
    const path = join(work, `${kind}.json`);
    await writeFile(path, JSON.stringify(config));
    configArgs.push('--config', `${kind}=${path}`);
  }
  const from = ctx.descriptor.source.files.filter((f) => f.path.endsWith('.safetensors')).flatMap((f) => ['--from', join(resolveDir, f.path)]);
  setPhase('convert');
  const convertLog: string[] = [];
  const convertCode = await runCommand(process.execPath, [...tsx, 'convert', ...from, ...configArgs, '--to', pkg, '--precision', precision, '--tokenizer', join(resolveDir, 'tokenizer'), '--stage-a-scale', '0.43', '--name', 'scale-fixture'], (line) => {
    convertLog.push(line);
    const m = /^(\w+): chunk/.exec(line);
    if (m) setPhase(`convert ${m[1]}`);
  }, onPid);
  if (convertCode !== 0) throw new Error(`convert ${exitText(convertCode)}: ${convertLog.slice(-3).join(' / ')}`);
  const packageBytes = diskBytes(pkg);

  setPhase('generate: session creation');
  const out = join(work, `image-${precision}.png`);
  const steps: Record<string, number[]> = { prior: [], decoder: [] };
  const lines: string[] = [];
  const code = await runCommand(process.execPath, [...tsx, 'generate', '--model', pkg, '--prompt', 'newest, extremely aesthetic, best quality, 1girl, solo', '--first-stage-steps', '2', '--second-stage-steps', '2', '--image-size', `${WIDTH}x${HEIGHT}`, '--seed', '1', '--residency', residency, '--out', out], (line) => {
    lines.push(line);
    const s = /^step (prior|decoder) (\d+)\/(\d+) (\d+) ms/.exec(line);
    if (s) {
      steps[s[1]].push(Number(s[4]));
      const next = s[1] === 'prior' && s[2] !== s[3] ? 'Stage C steps' : s[1] === 'prior' ? 'Stage B steps' : s[2] !== s[3] ? 'Stage B steps' : 'Stage A decode';
      setPhase(`generate: ${next}`);
    } else if (/^loaded /.test(line)) {
      setPhase(residency === 'all' ? 'generate: text encoder + Stage C steps' : 'generate: text encoder, Stage C session + steps');
    }
  }, onPid);
  if (code !== 0) throw new Error(`generate (residency ${residency}) ${exitText(code)}: ${lines.slice(-3).join(' / ')}`);
  const png = decode(new Uint8Array(await readFile(out)));
  const distinct = new Set(png.data as Uint8Array).size;
  notes.push(`image ${png.width}×${png.height}: ${distinct} distinct 8-bit values (residency ${residency})`);
  const timings = lines.find((l) => l.startsWith('timings (s)')) ?? '';
  const t = (key: string) => Number(new RegExp(`${key} ([\\d.]+)`).exec(timings)?.[1] ?? NaN);
  const components = Object.fromEntries(fixtureComponents(scale).map((m) => [m.kind, m]));
  // A step event's ms counts from the start of its stage's sampling: the warm (second) step is the difference.
  const warmC = ((steps.prior[1] ?? NaN) - (steps.prior[0] ?? NaN)) / 1000;
  const warmB = ((steps.decoder[1] ?? NaN) - (steps.decoder[0] ?? NaN)) / 1000;
  const flopsC = scale === 'full' ? stepFlops(components.stage_c, WIDTH, HEIGHT) : stepFlops(raw.source.configs ? { kind: 'stage_c', config: raw.source.configs.stage_c } as AnyModelConfig : components.stage_c, WIDTH, HEIGHT);
  const flopsB = scale === 'full' ? stepFlops(components.stage_b, WIDTH, HEIGHT) : stepFlops(raw.source.configs ? { kind: 'stage_b', config: raw.source.configs.stage_b } as AnyModelConfig : components.stage_b, WIDTH, HEIGHT);
  const falDefault = t('text_encoder') + 25 * warmC + 10 * warmB + t('vqgan');
  notes.push(`warm step: Stage C ${warmC.toFixed(1)} s (${(flopsC / 1e12).toFixed(2)} TFLOP est., ${(flopsC / 1e9 / warmC).toFixed(1)} GFLOP/s), Stage B ${warmB.toFixed(1)} s (${(flopsB / 1e12).toFixed(2)} TFLOP est., ${(flopsB / 1e9 / warmB).toFixed(1)} GFLOP/s); fal default (25 + 10 steps) extrapolated ${(falDefault / 60).toFixed(1)} min`);
  return {
    finite: distinct > 16,
    packageBytes,
    notes,
    details: {
      precision, residency, backend: 'onnxruntime-node (CPU)', size: `${WIDTH}x${HEIGHT}`, package_bytes: packageBytes,
      load_line: lines.find((l) => l.startsWith('loaded ')),
      step_ms: steps,
      warm_step_seconds: { stage_c: warmC, stage_b: warmB },
      flops_per_step_estimate: { stage_c: flopsC, stage_b: flopsB },
      gflops_per_second: { stage_c: flopsC / 1e9 / warmC, stage_b: flopsB / 1e9 / warmB },
      text_encoder_seconds: t('text_encoder'), stage_a_decode_seconds: t('vqgan'),
      fal_default_image_seconds_extrapolated: falDefault,
    },
  };
}

/** "exited with 1", or "was killed by SIGKILL (137; the kernel's OOM killer sends it)". */
function exitText(code: number): string {
  return code === 137 ? 'was killed by SIGKILL (exit 137: the kernel\'s out-of-memory killer sends it)' : `exited with ${code}`;
}
