import { describe, expect, it } from 'vitest';
import { TorchGenerator } from '../core/torch-generator.ts';
import { OrtEngine, type EngineSession, type OrtModule } from '../engine/ort-engine.ts';
import type { ModelKind } from '../models/checkpoint-source.ts';
import { writeDemoModel } from '../models/demo-model.ts';
import type { PipelineEvent } from './events.ts';
import { CHECK_LATENT_SIDE, countDistinctRgb, countNonFinite, ModelCheckError } from './model-check.ts';
import { memoryPackageReader, type PackageReader } from './package-reader.ts';
import { TextToImagePipeline } from './text-to-image.ts';

const ort = async () => (await import('onnxruntime-node')) as unknown as OrtModule;

async function demoFiles(): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  await writeDemoModel({ write: async (path, bytes) => void files.set(path, bytes) });
  return files;
}

/**
 * The real onnxruntime-node engine, counting the network sessions that are alive: a session created right after a
 * 'session-start' event is that network's (the pipeline creates it next), every other one is a helper graph.
 */
class CountingEngine extends OrtEngine {
  pending: ModelKind | undefined;
  readonly live = new Set<string>();
  readonly created: string[] = [];
  maxLive = 0;
  private serial = 0;

  override async createSession(...args: Parameters<OrtEngine['createSession']>): Promise<EngineSession> {
    const session = await super.createSession(...args);
    const kind = this.pending;
    this.pending = undefined;
    if (!kind) return session;
    const id = `${kind}#${this.serial++}`;
    this.created.push(kind);
    this.live.add(id);
    this.maxLive = Math.max(this.maxLive, this.live.size);
    return { ...session, inputNames: session.inputNames, outputNames: session.outputNames, run: (f) => session.run(f), release: async () => { this.live.delete(id); await session.release(); } };
  }

  listener = (e: PipelineEvent) => {
    if (e.type === 'session-start') this.pending = e.component;
  };
}

const request = { prompt: '1girl, solo', width: 256, height: 256, seed: 7, stageC: { steps: 2, cfg: 4 }, stageB: { steps: 2, cfg: 1.1 } };

describe('TextToImagePipeline.check on the demo model (onnxruntime-node)', () => {
  it("residency 'all': every network has a session, the test latent decodes to a finite, non-constant 256×256 image", async () => {
    const engine = new CountingEngine(await ort(), 'node');
    const pipeline = await TextToImagePipeline.load(engine, memoryPackageReader('demo', await demoFiles()), { onEvent: engine.listener });
    expect(engine.live.size).toBe(4); // load created the four main graphs
    const events: PipelineEvent[] = [];
    const result = await pipeline.check((e) => events.push(e));
    expect(result.backend).toBe('node');
    expect(result.residency).toBe('all');
    expect(result.sessions.map((s) => s.component)).toEqual(['clip_text', 'stage_c', 'stage_b', 'stage_a']);
    for (const s of result.sessions) expect(s.ms, s.component).toBeGreaterThan(0);
    // The demo's Stage C and B are split builds: their conditioning graphs were created by the check (not at load).
    expect(result.sessions.map((s) => [s.component, s.graphs, s.reused])).toEqual([
      ['clip_text', 1, true], ['stage_c', 2, false], ['stage_b', 2, false], ['stage_a', 1, true],
    ]);
    expect(engine.created).toEqual(['clip_text', 'stage_c', 'stage_b', 'stage_a', 'stage_c', 'stage_b']);
    expect(engine.live.size).toBe(6); // 'all' keeps everything
    expect(events.filter((e) => e.type === 'session-start').map((e) => e.type === 'session-start' && e.component)).toEqual(['stage_c', 'stage_b']);
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['stage-start', 'stage-end']));

    const d = result.decode;
    expect([d.width, d.height]).toEqual([4 * CHECK_LATENT_SIDE, 4 * CHECK_LATENT_SIDE]);
    expect([d.finite, d.nonFinite]).toEqual([true, 0]);
    expect(d.distinct).toBeGreaterThan(100);
    expect(d.ms).toBeGreaterThan(0);

    // Deterministic (seed 0), and a second check creates nothing.
    const again = await pipeline.check();
    expect(again.decode.distinct).toBe(d.distinct);
    expect(again.sessions.every((s) => s.reused)).toBe(true);
    expect(engine.created).toHaveLength(6);
    // A generation still works after it.
    const out = await pipeline.generate(request);
    expect(new Set(out.images[0].rgb).size).toBeGreaterThan(16);
    await pipeline.release();
    expect(engine.live.size).toBe(0);
  });

  it("residency 'sequential': each graph is created and released before the next one loads; Stage A after the decode", async () => {
    const engine = new CountingEngine(await ort(), 'node');
    const pipeline = await TextToImagePipeline.load(engine, memoryPackageReader('demo', await demoFiles()), { residency: 'sequential', onEvent: engine.listener });
    expect(engine.live.size).toBe(0);
    let liveAtDecode = -1;
    const result = await pipeline.check((e) => {
      if (e.type === 'stage-start') liveAtDecode = engine.live.size;
    });
    expect(result.residency).toBe('sequential');
    expect(engine.created).toEqual(['clip_text', 'stage_c', 'stage_c', 'stage_b', 'stage_b', 'stage_a']);
    expect(result.sessions.every((s) => !s.reused && s.ms > 0)).toBe(true);
    expect(engine.maxLive).toBe(1);
    expect(liveAtDecode).toBe(1); // Stage A only
    expect(engine.live.size).toBe(0);
    expect(result.decode.finite).toBe(true);
    await pipeline.release();
  });

  it('a failed step is a ModelCheckError naming it, and the pipeline still generates afterwards', async () => {
    const files = await demoFiles();
    const inner = memoryPackageReader('demo', files);
    let failStageB = true;
    // Fake IO only: the Stage B weights cannot be read once (a storage hiccup).
    const reader: PackageReader = {
      description: inner.description,
      text: (p) => inner.text(p),
      file: async (p) => {
        if (failStageB && p.startsWith('stage_b.onnx.data')) {
          failStageB = false;
          throw new Error(`cannot read ${p}`);
        }
        return inner.file(p);
      },
    };
    const engine = new CountingEngine(await ort(), 'node');
    const pipeline = await TextToImagePipeline.load(engine, reader, { residency: 'sequential', onEvent: engine.listener });
    const error = await pipeline.check().then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(ModelCheckError);
    expect((error as ModelCheckError).message).toMatch(/failed at creating the stage_b session: cannot read stage_b\.onnx\.data/);
    expect((error as ModelCheckError).remedy).toMatch(/other backend/);
    const out = await pipeline.generate(request);
    expect(new Set(out.images[0].rgb).size).toBeGreaterThan(16);
    expect((await pipeline.check()).decode.finite).toBe(true);
    await pipeline.release();
  });
});

describe('model-check helpers', () => {
  it('counts non-finite values and distinct colours', () => {
    expect(countNonFinite(Float32Array.from([0, 1, NaN, Infinity, -Infinity, -2]))).toBe(3);
    expect(countNonFinite(new TorchGenerator(0).randn([1, 4, 8, 8]))).toBe(0);
    expect(countDistinctRgb(Uint8Array.from([1, 2, 3, 1, 2, 3, 3, 2, 1]))).toBe(2);
  });
});
