/**
 * `bench --samplers`: what the "SoteDiffusion v2 recommended" preset costs against the hosted defaults, as the
 * sampling time of one image (Stage C + Stage B loops on the engine, device step graphs, random weights).
 * Text encoding and the Stage A decode are the same for both settings and are not timed.
 *
 *   default      Stage C 25 steps CFG 8 DDPM (official gdf), Stage B 10 steps CFG 2 DDPM: 2 rows per network call
 *   recommended  Stage C 28 steps CFG 6 DPM++ 2M sgm_uniform (2 rows), Stage B 14 steps CFG 1 LCM exponential
 *                (1 row: CFG 1 runs the conditional half only)
 *
 * After a 2-step warm-up of both stages (session creation and first-run allocation out of the timing) the settings
 * run alternately, twice each; the table reports per stage the smaller wall-clock time and the smaller process
 * CPU time (all threads; less sensitive than wall time to other processes on a shared machine), and the network
 * rows evaluated.
 */
import type { Tensor } from 'onnxruntime-common';
import { TorchGenerator } from '../../core/torch-generator.ts';
import { createNodeEngine, type NodeEngineBackend } from '../../engine/node-engine.ts';
import type { EngineSession, OrtEngine } from '../../engine/ort-engine.ts';
import { compileInMemory } from '../../models/compile.ts';
import { randomWeightSource } from '../../models/demo-model.ts';
import { latentSizes } from '../../models/latent-size.ts';
import { buildModel, type AnyModelConfig } from '../../models/registry.ts';
import { loadSamplerGraphs, releaseSamplerGraphs, sampleStageOnDevice, type SamplerGraphs } from '../../pipeline/device-sampler.ts';
import { createStageSampler } from '../../pipeline/samplers/create-stage-sampler.ts';
import { stageSamplerConfig, type StageSamplerChoice } from '../../pipeline/samplers/presets.ts';

type StageModel = Extract<AnyModelConfig, { kind: 'stage_c' | 'stage_b' }>;

interface StageRun {
  steps: number;
  cfg: number;
  sampler?: StageSamplerChoice;
}

export const SAMPLER_BENCH_SETTINGS: readonly { name: string; stageC: StageRun; stageB: StageRun }[] = [
  { name: 'default (hosted)', stageC: { steps: 25, cfg: 8 }, stageB: { steps: 10, cfg: 2 } },
  {
    name: 'SoteDiffusion v2 recommended',
    stageC: { steps: 28, cfg: 6, sampler: { method: 'dpmpp_2m', schedule: 'sgm_uniform' } },
    stageB: { steps: 14, cfg: 1, sampler: { method: 'lcm', schedule: 'exponential' } },
  },
];

export interface SamplerBenchRow {
  models: string;
  setting: string;
  /** Wall-clock and process CPU seconds (min of the repeats). */
  stageCSeconds: number;
  stageBSeconds: number;
  cpuSeconds: number;
  /** Network rows evaluated per stage (steps × 2 when guided). */
  rows: { stageC: number; stageB: number };
}

/** Random conditioning of a stage's network for `rows` rows (Stage B's effnet at the Stage C latent size). */
function conditioning(engine: OrtEngine, model: StageModel, rows: number, stageCLatent: readonly number[], gen: TorchGenerator): Record<string, Tensor> {
  const t = (shape: number[]) => engine.f32(gen.randn(shape), shape);
  if (model.kind === 'stage_c') {
    const k = model.config.kwargs;
    return { clip_text: t([rows, 77, k.c_clip_text]), clip_text_pooled: t([rows, 1, k.c_clip_text_pooled]) };
  }
  const k = model.config.kwargs;
  return { effnet: t([rows, k.c_effnet, stageCLatent[0], stageCLatent[1]]), clip: t([rows, 1, k.c_clip]) };
}

async function timeStage(
  engine: OrtEngine, graphs: SamplerGraphs, session: EngineSession, model: StageModel, stage: 'stageC' | 'stageB',
  run: StageRun, latent: number[], stageCLatent: readonly number[],
): Promise<{ seconds: number; cpu: number; rows: number }> {
  const sampler = stageSamplerConfig('official', stage, run.sampler);
  const guided = createStageSampler(sampler, run.steps, run.cfg).guided;
  const gen = new TorchGenerator(1);
  const cond = conditioning(engine, model, guided ? 2 : 1, stageCLatent, gen);
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const result = await sampleStageOnDevice({
    engine, graphs, sampler, steps: run.steps, cfg: run.cfg, shape: [1, ...latent], noise: (s) => gen.randn(s),
    model: async (x, r) => (await session.run({ x, r, ...cond })).output,
  });
  await engine.read(result); // the work is done when the result is on the host
  const cpu = process.cpuUsage(cpuStarted);
  return { seconds: (performance.now() - started) / 1000, cpu: (cpu.user + cpu.system) / 1e6, rows: run.steps * (guided ? 2 : 1) };
}

/** Times both settings for one Stage C / Stage B pair at one image size on one backend. */
export async function benchSamplerSettings(
  label: string, stageC: Extract<StageModel, { kind: 'stage_c' }>, stageB: Extract<StageModel, { kind: 'stage_b' }>,
  size: { width: number; height: number }, backend: NodeEngineBackend,
): Promise<SamplerBenchRow[]> {
  const engine = await createNodeEngine(backend);
  const sessions = await Promise.all([stageC, stageB].map(async (m, i) => {
    const ctx = buildModel(m);
    return engine.createSession(await compileInMemory(ctx, randomWeightSource(ctx.expected, 4321 + i)));
  }));
  const graphs = await loadSamplerGraphs(engine);
  const sizes = latentSizes(size.width, size.height);
  const latentC = [stageC.config.kwargs.c_in, ...sizes.stageC];
  const latentB = [stageB.config.kwargs.c_in, ...sizes.stageB];
  const rows = new Map<string, SamplerBenchRow>();
  for (const pass of ['warm-up', 'run 1', 'run 2']) {
    const warm = pass === 'warm-up';
    for (const s of SAMPLER_BENCH_SETTINGS) {
      const c = await timeStage(engine, graphs, sessions[0], stageC, 'stageC', warm ? { ...s.stageC, steps: 2 } : s.stageC, latentC, sizes.stageC);
      const b = await timeStage(engine, graphs, sessions[1], stageB, 'stageB', warm ? { ...s.stageB, steps: 2 } : s.stageB, latentB, sizes.stageC);
      if (warm) continue;
      const prev = rows.get(s.name);
      rows.set(s.name, {
        models: `${label} ${size.width}×${size.height} ${backend}`, setting: s.name, rows: { stageC: c.rows, stageB: b.rows },
        stageCSeconds: Math.min(c.seconds, prev?.stageCSeconds ?? Infinity),
        stageBSeconds: Math.min(b.seconds, prev?.stageBSeconds ?? Infinity),
        cpuSeconds: Math.min(c.cpu + b.cpu, prev?.cpuSeconds ?? Infinity),
      });
    }
  }
  await releaseSamplerGraphs(graphs);
  for (const s of sessions) await s.release();
  return [...rows.values()];
}

/** Markdown table of the rows, with the recommended preset's time relative to the default per model pair. */
export function formatSamplerBench(rows: readonly SamplerBenchRow[]): string {
  const lines = [
    '| models, image, backend | setting | Stage C s | Stage B s | sampling s | vs default | CPU s | network rows C + B |',
    '|---|---|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    const total = r.stageCSeconds + r.stageBSeconds;
    const base = rows.find((x) => x.models === r.models && x.setting === SAMPLER_BENCH_SETTINGS[0].name);
    const rel = base ? `${((100 * total) / (base.stageCSeconds + base.stageBSeconds)).toFixed(0)} %` : '—';
    lines.push(`| ${r.models} | ${r.setting} | ${r.stageCSeconds.toFixed(2)} | ${r.stageBSeconds.toFixed(2)} | ${total.toFixed(2)} | ${rel} | ${r.cpuSeconds.toFixed(1)} | ${r.rows.stageC} + ${r.rows.stageB} |`);
  }
  return lines.join('\n');
}
