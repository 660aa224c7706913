/**
 * The node part of the scale benchmark (see scripts/scale.ts): the CLI converts the fixture's checkpoints (int8)
 * with onnxruntime-node and generates 1024×1536 with 2 + 2 steps; the second step of each stage is the warm
 * step. FLOPs per step are an estimate from the networks' tensor shapes: 2·(weights of a level)·(positions of
 * that level, which only enabled switch_level downscalers shrink)·(block_repeat passes) for every Linear/Conv,
 * plus 4·T·(T+S)·c per attention pass, times the CFG batch of 2 (stable-cascade-spec §9.2 counts the same way).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decode } from 'fast-png';
import type { AnyModelConfig } from '../src/models/registry.ts';
import { buildModel } from '../src/models/registry.ts';
import { fixtureComponents, type FixtureScale } from '../src/models/released-files.ts';
import { diskBytes, PhaseSampler, processTree, rssBytes, runCommand, type PartResult, type ScaleContext } from './scale-support.ts';

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
  const result: PartResult = { name: 'node', ok: false, phases: [], package_bytes: 0, idb_bytes: 0, downloaded_bytes: 0, finite: false, notes };
  const work = await mkdtemp(join(ctx.fixtureDir, '..', 'scale-node-'));
  const pkg = join(work, 'package');
  const resolveDir = join(ctx.fixtureDir, 'hub', ctx.descriptor.source.repo, 'resolve', ctx.descriptor.source.revision);
  const fixture = JSON.parse(await readFile(join(ctx.fixtureDir, 'fixture.json'), 'utf8').catch(() => '{}')) as { scale?: FixtureScale };
  const scale: FixtureScale = fixture.scale ?? 'full';
  const raw = JSON.parse(await readFile(join(ctx.fixtureDir, 'descriptor.json'), 'utf8')) as { source: { configs?: Record<string, unknown> } };
  let childPid = 0;
  let phase = 'start';
  const sampler = new PhaseSampler(() => (childPid ? rssBytes(processTree([childPid])) : 0), async () => ({ phase }), 1000, (name) => ctx.log(`  node: ${name}`));
  const tsx = ['node_modules/tsx/dist/cli.mjs', 'src/cli/main.ts'];
  try {
    sampler.start();
    const configArgs: string[] = [];
    for (const [kind, config] of Object.entries(raw.source.configs ?? {})) {
      const path = join(work, `${kind}.json`);
      await writeFile(path, JSON.stringify(config));
      configArgs.push('--config', `${kind}=${path}`);
    }
    const from = ctx.descriptor.source.files.filter((f) => f.path.endsWith('.safetensors')).flatMap((f) => ['--from', join(resolveDir, f.path)]);
    phase = 'convert (int8)';
    sampler.setPhase(phase);
    const convertLog: string[] = [];
    const convertCode = await runCommand(process.execPath, [...tsx, 'convert', ...from, ...configArgs, '--to', pkg, '--precision', 'int8', '--tokenizer', join(resolveDir, 'tokenizer'), '--stage-a-scale', '0.43', '--name', 'scale-fixture'], (line) => {
      convertLog.push(line);
      const m = /^(\w+): chunk/.exec(line);
      if (m && phase !== `convert ${m[1]}`) {
        phase = `convert ${m[1]}`;
        sampler.setPhase(phase);
      }
    }, (pid) => { childPid = pid; });
    if (convertCode !== 0) throw new Error(`convert exited with ${convertCode}: ${convertLog.slice(-3).join(' / ')}`);
    result.package_bytes = diskBytes(pkg);

    phase = 'generate: session creation';
    sampler.setPhase(phase);
    const out = join(work, 'image.png');
    const steps: Record<string, number[]> = { prior: [], decoder: [] };
    const lines: string[] = [];
    const code = await runCommand(process.execPath, [...tsx, 'generate', '--model', pkg, '--prompt', 'newest, extremely aesthetic, best quality, 1girl, solo', '--first-stage-steps', '2', '--second-stage-steps', '2', '--image-size', `${WIDTH}x${HEIGHT}`, '--seed', '1', '--out', out], (line) => {
      lines.push(line);
      const s = /^step (prior|decoder) (\d+)\/(\d+) (\d+) ms/.exec(line);
      if (s) {
        steps[s[1]].push(Number(s[4]));
        const next = s[1] === 'prior' && s[2] !== s[3] ? 'Stage C steps' : s[1] === 'prior' ? 'Stage B steps' : s[2] !== s[3] ? 'Stage B steps' : 'Stage A decode';
        if (phase !== `generate: ${next}`) {
          phase = `generate: ${next}`;
          sampler.setPhase(phase);
        }
      } else if (/^loaded /.test(line)) {
        phase = 'generate: text encoder + Stage C steps';
        sampler.setPhase(phase);
      }
    }, (pid) => { childPid = pid; });
    if (code !== 0) throw new Error(`generate exited with ${code}: ${lines.slice(-3).join(' / ')}`);
    const png = decode(new Uint8Array(await readFile(out)));
    const distinct = new Set(png.data as Uint8Array).size;
    result.finite = distinct > 16;
    notes.push(`image ${png.width}×${png.height}: ${distinct} distinct 8-bit values`);
    const timings = lines.find((l) => l.startsWith('timings (s)')) ?? '';
    const t = (key: string) => Number(new RegExp(`${key} ([\\d.]+)`).exec(timings)?.[1] ?? NaN);
    const components = Object.fromEntries(fixtureComponents(scale).map((m) => [m.kind, m]));
    // A step event's ms counts from the start of its stage's sampling: the warm (second) step is the difference.
    const warmC = ((steps.prior[1] ?? NaN) - (steps.prior[0] ?? NaN)) / 1000;
    const warmB = ((steps.decoder[1] ?? NaN) - (steps.decoder[0] ?? NaN)) / 1000;
    const flopsC = scale === 'full' ? stepFlops(components.stage_c, WIDTH, HEIGHT) : stepFlops(raw.source.configs ? { kind: 'stage_c', config: raw.source.configs.stage_c } as AnyModelConfig : components.stage_c, WIDTH, HEIGHT);
    const flopsB = scale === 'full' ? stepFlops(components.stage_b, WIDTH, HEIGHT) : stepFlops(raw.source.configs ? { kind: 'stage_b', config: raw.source.configs.stage_b } as AnyModelConfig : components.stage_b, WIDTH, HEIGHT);
    const falDefault = t('text_encoder') + 25 * warmC + 10 * warmB + t('vqgan');
    result.details = {
      precision: 'int8', backend: 'onnxruntime-node (CPU)', size: `${WIDTH}x${HEIGHT}`,
      load_line: lines.find((l) => l.startsWith('loaded ')),
      step_ms: steps,
      warm_step_seconds: { stage_c: warmC, stage_b: warmB },
      flops_per_step_estimate: { stage_c: flopsC, stage_b: flopsB },
      gflops_per_second: { stage_c: flopsC / 1e9 / warmC, stage_b: flopsB / 1e9 / warmB },
      text_encoder_seconds: t('text_encoder'), stage_a_decode_seconds: t('vqgan'),
      fal_default_image_seconds_extrapolated: falDefault,
    };
    notes.push(`warm step: Stage C ${warmC.toFixed(1)} s (${(flopsC / 1e12).toFixed(2)} TFLOP est., ${(flopsC / 1e9 / warmC).toFixed(1)} GFLOP/s), Stage B ${warmB.toFixed(1)} s (${(flopsB / 1e12).toFixed(2)} TFLOP est., ${(flopsB / 1e9 / warmB).toFixed(1)} GFLOP/s); fal default (25 + 10 steps) extrapolated ${(falDefault / 60).toFixed(1)} min`);
    notes.push('fp16 on onnxruntime-node: not run');
    result.ok = result.finite;
  } catch (e) {
    result.error = e instanceof Error ? e.message.split('\n')[0] : String(e);
  } finally {
    result.phases = sampler.stop();
    result.disk_bytes = diskBytes(work);
    await rm(work, { recursive: true, force: true });
  }
  return result;
}
