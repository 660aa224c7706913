/**
 * Prompt → images: CLIP → Stage C sampling → Stage B sampling → Stage A decode → 8-bit RGB, on any OrtEngine.
 *
 * Reference semantics (spec §1.4, §7, §8.6):
 * - CFG batch = [cond rows; uncond rows], num_images rows each; the uncond text is the negative prompt ("" if none);
 * - one TorchGenerator seeded once; draws in order: Stage C x_T, one per Stage C step, Stage B x_T, one per
 *   Stage B step (num_images rows per draw);
 * - Stage B gets effnet = [Stage C result; zeros] and the pooled text of the same rows;
 * - Stage A output is clamped to [0,1], rounded to 8 bits and cropped to exactly width × height.
 * Device invariant: latents, conditioning and model outputs stay in the engine between calls; the host only
 * uploads noise and per-step scalars, and reads back the final RGB bytes (engine.readbacks counts it) — plus,
 * only when `preview` is requested, one small read-back per Stage C preview (preview.ts).
 */
import type { Tensor } from 'onnxruntime-common';
import type { OrtEngine, EngineSession } from '../engine/ort-engine.ts';
import type { ModelKind } from '../models/checkpoint-source.ts';
import type { PackageManifest } from '../models/model-package.ts';
import type { StageAConfig } from '../models/stage-a.ts';
import { buildLongPromptStitchGraph, buildPairWithZerosGraph, buildToRgb8Graph, compileWeightless } from '../models/pipeline-graphs.ts';

/** Chunks of the long-prompt mode: kohya's --max_token_length 225 = 3 × 75. */
const LONG_PROMPT_CHUNKS = 3;
import { isGuided, loadSamplerGraphs, releaseSamplerGraphs, sampleStageOnDevice, type SamplerGraphs } from './device-sampler.ts';
import type { ClipTokenizer } from './clip-tokenizer.ts';
import { createClipTokenizer } from './clip-tokenizer.ts';
import type { GenerationStage, PipelineListener } from './events.ts';
import { latentSizes } from '../models/latent-size.ts';
import { readManifest, type PackageReader } from './package-reader.ts';
import { stageSamplerConfig, type SamplerConfig, type SamplerPresetName, type StageSamplerChoice } from './samplers/presets.ts';
import { StageADecoder, type StageATiling } from './tiled-decode.ts';
import { isPreviewStep, LatentPreviewer, validatePreviewOptions, type PreviewOptions } from './preview.ts';
import { buildInsertAxis1Graph } from '../models/tile-graphs.ts';
import { TorchGenerator, type TorchSeed } from '../core/torch-generator.ts';
import { CHECK_NETWORKS, checkError, decodeTestLatent, type ModelCheckResult } from './model-check.ts';

export interface StageSettings {
  steps: number;
  cfg: number;
  /** 'ddpm' (default) or a k-diffusion sampler with its σ schedule (DPM++(2M), LCM; samplers/kdiffusion-sampler.ts). */
  sampler?: StageSamplerChoice;
}

export interface GenerationRequest {
  prompt: string;
  negativePrompt?: string;
  width: number;
  height: number;
  numImages?: number;
  /** 0 … 2^64−1 (PyTorch keeps the low 32 bits); random when absent. */
  seed?: TorchSeed;
  /** Steps, CFG weight and sampler of each stage (sampler default: the DDPM sampler of `sampler` below). */
  stageC: StageSettings;
  stageB: StageSettings;
  /** Formulation of the DDPM sampler; default 'official'. */
  sampler?: SamplerPresetName;
  /**
   * SoteDiffusion's training-time text conditioning: 225 prompt tokens in three unmasked 75-token CLIP passes,
   * stitched to 227 tokens (spec §2.5). Default false: 77 tokens with the padding mask, as diffusers and the
   * hosted endpoint do.
   */
  longPrompt?: boolean;
  /**
   * Live Stage C preview: after steps every, 2·every, … and the last, a 'preview' event with the step's x0
   * prediction as false-colour RGB at Stage C latent size (preview.ts). Default off. Each preview costs exactly
   * one extra read-back of numImages·h·w·3 bytes (h×w = the Stage C latent), so `readbacks` is
   * 1 + the number of previews; without it a generation reads back once.
   */
  preview?: PreviewOptions;
}

export interface GeneratedImage {
  width: number;
  height: number;
  /** Row-major RGB, 3 bytes per pixel. */
  rgb: Uint8Array;
}

export interface GenerationResult {
  images: GeneratedImage[];
  seed: bigint;
  /** Seconds per stage (text_encoder, prior, decoder, vqgan) and in total (inference). */
  timings: Record<GenerationStage | 'inference', number>;
  /** GPU→CPU transfers made by this generation. */
  readbacks: number;
}

export interface PipelineOptions {
  /**
   * 'all': every network stays loaded (fast repeated generations); 'sequential': each network is loaded for
   * its stage and released after it (peak memory = the largest network, for small GPUs).
   */
  residency?: 'all' | 'sequential';
  onEvent?: PipelineListener;
  /** Stage A in overlapping tiles when forced or when the device's buffer limit requires it (tiled-decode.ts). */
  stageATiling?: StageATiling;
}


/** A graph of the package: a network's main graph, or the conditioning graph of a split Stage C/B. */
type GraphId = ModelKind | 'stage_c_cond' | 'stage_b_cond';

export class TextToImagePipeline {
  private readonly sessions = new Map<GraphId, EngineSession>();
  /** Creation time (ms) of each graph's current session (check() reports it for sessions it did not create). */
  private readonly sessionMs = new Map<GraphId, number>();
  private stageADecoder?: StageADecoder;
  private insertAxis1?: EngineSession;
  private longPromptStitch?: EngineSession;
  private previewer?: LatentPreviewer;
  private constructor(
    readonly engine: OrtEngine,
    readonly reader: PackageReader,
    readonly manifest: PackageManifest,
    readonly tokenizer: ClipTokenizer,
    private readonly graphs: SamplerGraphs,
    private readonly pairWithZeros: EngineSession,
    private readonly toRgb8: EngineSession,
    private readonly options: PipelineOptions,
  ) {}

  static async load(engine: OrtEngine, reader: PackageReader, options: PipelineOptions = {}): Promise<TextToImagePipeline> {
    const manifest = await readManifest(reader);
    for (const kind of ['clip_text', 'stage_c', 'stage_b', 'stage_a'] as const) {
      if (!manifest.components[kind]) throw new Error(`${reader.description}: the package has no ${kind} component`);
    }
    const tokenizer = await loadTokenizer(reader, manifest);
    const started = performance.now();
    const graphs = await loadSamplerGraphs(engine);
    const pairWithZeros = await engine.createSession(await compileWeightless(buildPairWithZerosGraph()));
    const toRgb8 = await engine.createSession(await compileWeightless(buildToRgb8Graph()));
    options.onEvent?.({ type: 'session', component: 'sampler', ms: performance.now() - started });
    const pipeline = new TextToImagePipeline(engine, reader, manifest, tokenizer, graphs, pairWithZeros, toRgb8, options);
    if ((options.residency ?? 'all') === 'all') {
      for (const kind of ['clip_text', 'stage_c', 'stage_b', 'stage_a'] as const) await pipeline.session(kind);
    }
    return pipeline;
  }

  private async session(id: GraphId, emit: PipelineListener | undefined = this.options.onEvent): Promise<EngineSession> {
    const existing = this.sessions.get(id);
    if (existing) return existing;
    const kind = id.replace(/_cond$/, '') as ModelKind;
    const c = id === kind ? this.manifest.components[kind]! : this.manifest.components[kind]!.conditioning!;
    emit?.({ type: 'session-start', component: kind });
    const started = performance.now();
    const externalData = await Promise.all(c.chunks.map(async (f) => ({ path: f.path, data: await this.reader.file(f.path) })));
    const graph = await this.reader.file(c.graph.path);
    const model = graph instanceof Blob ? new Uint8Array(await graph.arrayBuffer()) : graph;
    // The step networks run once per step with the same shapes: the engine may capture them (graph-capture.ts).
    const totalBytes = c.chunks.reduce((sum, f) => sum + f.bytes, 0);
    let loadedBytes = 0;
    let shownAt = started;
    const onBytes = (n: number) => {
      loadedBytes += n;
      const now = performance.now();
      if (now - shownAt < 500) return;
      shownAt = now;
      emit?.({ type: 'session-progress', component: kind, loadedBytes, totalBytes });
    };
    const session = await this.engine.createSession({ model, externalData }, { perStep: id === 'stage_c' || id === 'stage_b', label: id, onBytes });
    if (totalBytes > 0) emit?.({ type: 'session-progress', component: kind, loadedBytes, totalBytes });
    const ms = performance.now() - started;
    emit?.({ type: 'session', component: kind, ms });
    this.sessions.set(id, session);
    this.sessionMs.set(id, ms);
    return session;
  }

  private async done(id: GraphId): Promise<void> {
    if ((this.options.residency ?? 'all') !== 'sequential') return;
    await this.sessions.get(id)?.release();
    this.sessions.delete(id);
  }

  /**
   * The conditioning feeds of a Stage C/B step: for a split package, the conditioning graph runs once here and
   * its `kv.*` outputs are fed to every step (its session is released at once: it is not needed again until
   * the next generation); otherwise the raw inputs go to the full graph each step.
   */
  private async conditioning(kind: 'stage_c' | 'stage_b', inputs: Record<string, Tensor>): Promise<Record<string, Tensor>> {
    if (!this.manifest.components[kind]!.conditioning) return inputs;
    const id = `${kind}_cond` as const;
    const kv = await (await this.session(id)).run(inputs);
    await this.done(id);
    return kv;
  }

  async generate(req: GenerationRequest, opts: { onEvent?: PipelineListener; signal?: AbortSignal } = {}): Promise<GenerationResult> {
    const emit: PipelineListener = (e) => {
      this.options.onEvent?.(e);
      opts.onEvent?.(e);
    };
    const { engine } = this;
    if (req.preview) validatePreviewOptions(req.preview);
    const n = req.numImages ?? 1;
    const seed = req.seed ?? BigInt(globalThis.crypto.getRandomValues(new Uint32Array(1))[0]);
    const generator = new TorchGenerator(seed);
    const presetName = req.sampler ?? 'official';
    const samplerC = stageSamplerConfig(presetName, 'stageC', req.stageC.sampler);
    const samplerB = stageSamplerConfig(presetName, 'stageB', req.stageB.sampler);
    const guidedC = isGuided(samplerC, req.stageC.cfg);
    const guidedB = isGuided(samplerB, req.stageB.cfg);
    const sizes = latentSizes(req.width, req.height);
    const readbacksBefore = engine.readbacks;
    const timings = { text_encoder: 0, prior: 0, decoder: 0, vqgan: 0, inference: 0 };
    const t0 = performance.now();
    const stage = async <T>(name: GenerationStage, fn: () => Promise<T>): Promise<T> => {
      opts.signal?.throwIfAborted();
      emit({ type: 'stage-start', stage: name });
      const s = performance.now();
      const out = await fn();
      timings[name] = (performance.now() - s) / 1000;
      emit({ type: 'stage-end', stage: name, ms: timings[name] * 1000 });
      return out;
    };

    // Text: conditional rows, and [cond; uncond] rows when any stage guides.
    const text = await stage('text_encoder', async () => {
      const clip = await this.session('clip_text');
      const chunks = req.longPrompt ? LONG_PROMPT_CHUNKS : 0;
      const encode = async (prompts: string[]) => {
        // Long mode: `chunks` unmasked rows per prompt (kohya), stitched on the device below.
        const rows = prompts.flatMap((p) => {
          if (!chunks) return [this.tokenizer.encode(p)];
          const e = this.tokenizer.encodeLong(p, { chunks });
          return e.inputIds.map((ids, i) => ({ inputIds: ids, attentionMask: e.attentionMask[i] }));
        });
        const L = rows[0].inputIds.length;
        const ids = BigInt64Array.from(rows.flatMap((e) => e.inputIds.map(BigInt)));
        const mask = BigInt64Array.from(rows.flatMap((e) => e.attentionMask.map(BigInt)));
        const out = await clip.run({
          input_ids: engine.tensor({ dtype: 'int64', dims: [rows.length, L], data: ids }),
          attention_mask: engine.tensor({ dtype: 'int64', dims: [rows.length, L], data: mask }),
        });
        if (chunks) {
          this.longPromptStitch ??= await engine.createSession(await compileWeightless(buildLongPromptStitchGraph(chunks)));
          const stitched = await this.longPromptStitch.run({ hidden: out.hidden_states_last_layer, pooled: out.text_embeds });
          return { hidden: stitched.clip_text, pooled: stitched.clip_text_pooled };
        }
        const pooled = out.text_embeds;
        // onnxruntime-web cannot reshape a tensor that owns a GPU buffer: on the device the reshape is a graph.
        this.insertAxis1 ??= pooled.location === 'gpu-buffer' ? await engine.createSession(await compileWeightless(buildInsertAxis1Graph())) : undefined;
        const pooled3 = this.insertAxis1 ? (await this.insertAxis1.run({ x: pooled })).y : pooled.reshape([pooled.dims[0], 1, pooled.dims[1]]);
        return { hidden: out.hidden_states_last_layer, pooled: pooled3 };
      };
      const prompts = Array<string>(n).fill(req.prompt);
      const negatives = Array<string>(n).fill(req.negativePrompt ?? '');
      const cond = !guidedC || !guidedB ? await encode(prompts) : undefined;
      const pair = guidedC || guidedB ? await encode([...prompts, ...negatives]) : undefined;
      await this.done('clip_text');
      return { cond, pair };
    });

    const stageCResult = await stage('prior', async () => {
      const net = await this.session('stage_c');
      const emb = guidedC ? text.pair! : text.cond!;
      const cond = await this.conditioning('stage_c', { clip_text: emb.hidden, clip_text_pooled: emb.pooled });
      // Compiled on the first generation that asks for previews, kept for the next ones.
      const preview = req.preview ? { previewer: (this.previewer ??= await LatentPreviewer.create(engine)), every: req.preview.every } : undefined;
      const result = await this.sample('prior', samplerC, req.stageC, [n, 16, ...sizes.stageC], generator, emit, opts.signal,
        (x, r) => net.run({ x, r, ...cond }).then((o) => o.output), preview);
      await this.done('stage_c');
      return result;
    });

    const latents = await stage('decoder', async () => {
      const net = await this.session('stage_b');
      const effnet = guidedB ? (await this.pairWithZeros.run({ a: stageCResult })).pair : stageCResult;
      const cond = await this.conditioning('stage_b', { clip: (guidedB ? text.pair! : text.cond!).pooled });
      const cIn = (this.manifest.components.stage_b!.config as { kwargs: { c_in: number } }).kwargs.c_in;
      const result = await this.sample('decoder', samplerB, req.stageB, [n, cIn, ...sizes.stageB], generator, emit, opts.signal,
        (x, r) => net.run({ x, r, effnet, ...cond }).then((o) => o.output));
      await this.done('stage_b');
      return result;
    });

    const images = await stage('vqgan', async () => {
      const net = await this.session('stage_a');
      this.stageADecoder ??= new StageADecoder(engine, this.manifest.components.stage_a!.config as StageAConfig, this.options.stageATiling);
      const decoded = await this.stageADecoder.decode(net, latents, emit);
      const rgb = (await this.toRgb8.run({
        image: decoded,
        crop: engine.tensor({ dtype: 'int64', dims: [2], data: BigInt64Array.from([BigInt(req.height), BigInt(req.width)]) }),
      })).rgb;
      const host = await engine.read(rgb);
      await this.done('stage_a');
      const bytes = host.data as Uint8Array;
      const per = req.width * req.height * 3;
      return Array.from({ length: n }, (_, i) => ({ width: req.width, height: req.height, rgb: bytes.slice(i * per, (i + 1) * per) }));
    });
    timings.inference = (performance.now() - t0) / 1000;
    return { images, seed: BigInt.asUintN(64, BigInt(seed)), timings, readbacks: engine.readbacks - readbacksBefore };
  }

  /**
   * "Test on this device": creates the session of every network (a split Stage C/B's conditioning graph with its
   * network), then decodes the fixed test latent (model-check.ts) through Stage A on the path generate() uses
   * (StageADecoder, toRgb8) and reads the decoded floats back to count non-finite values. Residency holds as in a
   * generation: 'sequential' releases each graph right after creating it, Stage A after the decode; sessions that
   * already exist ('all') are reused and report the time measured when they were created. A failed step throws
   * ModelCheckError and leaves the pipeline usable for generate().
   */
  async check(onEvent?: PipelineListener): Promise<ModelCheckResult> {
    const emit: PipelineListener = (e) => {
      this.options.onEvent?.(e);
      onEvent?.(e);
    };
    const { engine } = this;
    const sessions: ModelCheckResult['sessions'] = [];
    for (const kind of CHECK_NETWORKS) {
      const ids: GraphId[] = [kind, ...(this.manifest.components[kind]!.conditioning ? [`${kind}_cond` as GraphId] : [])];
      const reused = ids.every((id) => this.sessions.has(id));
      let ms = 0;
      for (const id of ids) {
        await this.session(id, emit).catch((e: unknown) => { throw checkError(`creating the ${id} session`, e); });
        ms += this.sessionMs.get(id) ?? 0;
        if (id !== 'stage_a') await this.done(id);
      }
      sessions.push({ component: kind, ms, graphs: ids.length, reused });
    }

    try {
      const config = this.manifest.components.stage_a!.config as StageAConfig;
      this.stageADecoder ??= new StageADecoder(engine, config, this.options.stageATiling);
      const decode = await decodeTestLatent(engine, this.stageADecoder, this.sessions.get('stage_a')!, this.toRgb8, config.kwargs.c_latent, emit);
      return { backend: engine.backend, residency: this.options.residency ?? 'all', sessions, decode };
    } catch (e) {
      throw checkError('the Stage A decode', e);
    } finally {
      await this.done('stage_a');
    }
  }

  private sample(
    stage: 'prior' | 'decoder',
    sampler: SamplerConfig,
    settings: { steps: number; cfg: number },
    shape: number[],
    generator: TorchGenerator,
    emit: PipelineListener,
    signal: AbortSignal | undefined,
    model: (x: Tensor, r: Tensor) => Promise<Tensor>,
    /** Stage C only: render the step's x0 prediction (see GenerationRequest.preview). */
    preview?: { previewer: LatentPreviewer; every: number },
  ): Promise<Tensor> {
    const started = performance.now();
    return sampleStageOnDevice({
      engine: this.engine, graphs: this.graphs, sampler, steps: settings.steps, cfg: settings.cfg, shape, model, signal,
      noise: (s) => generator.randn(s),
      onStep: async ({ step, steps, x0 }) => {
        emit({ type: 'step', stage, step: step + 1, steps, ms: performance.now() - started });
        if (stage !== 'prior' || !preview || !isPreviewStep(step + 1, steps, preview.every)) return;
        const { width, height, rgb } = await preview.previewer.render(x0);
        emit({ type: 'preview', stage, step: step + 1, width, height, rgb });
      },
    });
  }

  async release(): Promise<void> {
    for (const s of this.sessions.values()) await s.release();
    this.sessions.clear();
    await this.stageADecoder?.release();
    await this.insertAxis1?.release();
    await this.longPromptStitch?.release();
    await this.previewer?.release();
    await releaseSamplerGraphs(this.graphs);
    await this.pairWithZeros.release();
    await this.toRgb8.release();
  }
}

async function loadTokenizer(reader: PackageReader, manifest: PackageManifest): Promise<ClipTokenizer> {
  const files = new Map((manifest.tokenizer ?? []).map((f) => [f.path.replace(/^tokenizer\//, ''), f.path]));
  const text = async (name: string) => (files.has(name) ? reader.text(files.get(name)!) : undefined);
  if (!files.size) throw new Error(`${reader.description}: the package has no tokenizer files`);
  return createClipTokenizer({
    tokenizerJson: await text('tokenizer.json'),
    vocab: await text('vocab.json'),
    merges: await text('merges.txt'),
    tokenizerConfig: await text('tokenizer_config.json'),
    specialTokensMap: await text('special_tokens_map.json'),
  });
}
