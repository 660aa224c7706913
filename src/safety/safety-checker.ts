/**
 * The hosted API's safety checker (spec §10.5, fal toolkit `postprocess_images`, checker v2): every image is
 * classified by an image-classification ViT (Falconsai/nsfw_image_detection) through transformers.js'
 * `image-classification` pipeline; softmax P("nsfw") > 0.5 flags it; a flagged image is replaced by an
 * all-black RGB image of the same width × height and has_nsfw_concepts[i] = true. Disabled → nothing is
 * classified, nothing is loaded, has_nsfw_concepts is all false.
 *
 * Invariants:
 * - ONE onnxruntime: transformers.js runs on the onnxruntime module the caller passes (the worker's
 *   `onnxruntime-web/webgpu`, or onnxruntime-node in Node). transformers.js 4.x takes the module published at
 *   globalThis[Symbol.for('onnxruntime')] instead of its own import when that symbol exists at ITS module
 *   evaluation, so transformers.js is imported lazily, after publishing ours. Its import-time side effects on
 *   the shared env (a jsDelivr wasmPaths default, log level, WebGPU power preference) are undone right after
 *   the import, so our engine keeps resolving the .wasm that Vite emits next to the bundle and the page never
 *   talks to a CDN. Sessions the pipeline creates are checked to come from our InferenceSession.
 * - No hub access: files come from `modelBase` as `<modelBase><modelId>/{config.json, preprocessor_config.json,
 *   onnx/model.onnx[, onnx/model.onnx_data[_N]…]}` (converted checkers keep their weights in external data files,
 *   counted in config.json's transformers.js_config), through `fetch` if given (the model store serves its cached
 *   copies that way).
 *   A directory or same-origin path is a transformers.js "local" path (allowRemoteModels = false). An absolute
 *   http(s) URL must instead be the "remote host" (remoteHost = modelBase, remotePathTemplate = '{model}/',
 *   allowLocalModels = false): transformers.js 4.3.1 decides whether optional files such as
 *   preprocessor_config.json exist by probing local paths only when they are NOT URLs, so with an absolute-URL
 *   localModelPath the processor is silently skipped and the pipeline fails ("this.processor is not a
 *   function"). Either way the only host ever contacted is the one in modelBase.
 * - transformers.js is module-global state: every checker in one JS realm must use the same ort module.
 */
import type { Env, InferenceSession } from 'onnxruntime-common';
import type { GeneratedImage } from '../pipeline/text-to-image.ts';

/** The label whose softmax probability decides (Falconsai/nsfw_image_detection: {0: "normal", 1: "nsfw"}). */
export const NSFW_LABEL = 'nsfw';
/** Flag when P(nsfw) is strictly greater than this (fal toolkit: > 0.5). */
export const NSFW_THRESHOLD = 0.5;
export const FALCONSAI_MODEL_ID = 'Falconsai/nsfw_image_detection';

/** The onnxruntime module transformers.js must share (onnxruntime-web/webgpu in the browser, onnxruntime-node in Node). */
export interface SharedOrt {
  readonly InferenceSession: typeof InferenceSession;
  readonly env: Env;
}

export type SafetyDevice = 'webgpu' | 'wasm' | 'cpu';

export interface SafetyCheckerOptions {
  ort: SharedOrt;
  /** Model folder name under localModelPath; a HF repo id such as "Falconsai/nsfw_image_detection". */
  modelId: string;
  /**
   * Where model folders live, ending with "/": an absolute URL prefix ("http://127.0.0.1:5173/models/"), a
   * same-origin path ("/models/"), or a directory in Node. transformers.js path-joins it with modelId/file.
   */
  modelBase: string;
  /** 'webgpu' or 'wasm' in the browser, 'cpu' with onnxruntime-node. */
  device: SafetyDevice;
  /** Replaces transformers.js' fetch (e.g. to serve files from the model store). */
  fetch?: typeof fetch;
  /** The name in logs and events (default modelId), e.g. the hub repo a store-served checker came from. */
  displayName?: string;
  /** Let transformers.js keep responses in the Cache API ('transformers-cache'). Default false: the model store caches. */
  useBrowserCache?: boolean;
}

export interface SafetyCheckResult {
  flagged: boolean[];
  nsfwProbability: number[];
  /** Classification time (preprocessing + inference) for the whole batch. */
  ms: number;
}

type Transformers = typeof import('@huggingface/transformers');
type ImageClassifier = Awaited<ReturnType<Transformers['pipeline']>> & {
  (images: unknown[], options: { top_k: number }): Promise<{ label: string; score: number }[][]>;
  model: { config: { id2label?: Record<string, string> }; sessions: Record<string, unknown> };
  dispose(): Promise<void>;
};

const ORT_SYMBOL = Symbol.for('onnxruntime');
let transformers: { ort: SharedOrt; module: Promise<Transformers> } | undefined;
/** transformers.js' own fetch, restored for checkers that pass none. */
let defaultFetch: Transformers['env']['fetch'] | undefined;
let loadChain: Promise<unknown> = Promise.resolve();

/**
 * Imports transformers.js bound to `ort` (see the file invariant). Throws if it was already bound to a
 * different module in this realm, or if someone else published a different onnxruntime under the symbol.
 */
export function importTransformersSharingOrt(ort: SharedOrt): Promise<Transformers> {
  if (transformers) {
    if (transformers.ort !== ort) throw new Error('transformers.js is already bound to another onnxruntime module in this realm');
    return transformers.module;
  }
  const g = globalThis as unknown as Record<symbol, unknown>;
  const published = g[ORT_SYMBOL];
  if (published !== undefined && published !== ort) throw new Error('globalThis[Symbol.for("onnxruntime")] holds a different onnxruntime module');
  g[ORT_SYMBOL] = ort;
  const env = ort.env;
  const saved = { wasmPaths: env.wasm.wasmPaths, logLevel: env.logLevel, powerPreference: env.webgpu?.powerPreference };
  const module = import('@huggingface/transformers').then((tf) => {
    env.wasm.wasmPaths = saved.wasmPaths;
    env.logLevel = saved.logLevel;
    if (env.webgpu) env.webgpu.powerPreference = saved.powerPreference;
    // transformers.js would otherwise pre-fetch and cache the ORT wasm itself when wasmPaths is a {wasm, mjs} pair.
    tf.env.useWasmCache = false;
    defaultFetch = tf.env.fetch;
    return tf;
  });
  transformers = { ort, module };
  return module;
}

export class SafetyChecker {
  private constructor(
    private readonly classifier: ImageClassifier,
    readonly labels: readonly string[],
    /** The checker as logs name it (options.displayName, else the model id). */
    readonly modelId: string,
    readonly device: SafetyDevice,
    /** Time to import transformers.js and create the pipeline (files + session). */
    readonly loadMs: number,
  ) {}

  /**
   * Loads a checker. transformers.js reads its file-location settings from a module-global `env` while it
   * fetches, so loads are serialized: each sets the env for its own model base, then loads, then the next one.
   */
  static load(options: SafetyCheckerOptions): Promise<SafetyChecker> {
    const next = loadChain.then(() => SafetyChecker.loadNow(options));
    loadChain = next.catch(() => undefined);
    return next;
  }

  private static async loadNow(options: SafetyCheckerOptions): Promise<SafetyChecker> {
    const started = performance.now();
    const tf = await importTransformersSharingOrt(options.ort);
    if (!options.modelBase.endsWith('/')) throw new Error(`safety checker: modelBase must end with "/" (got ${options.modelBase})`);
    if (/^https?:\/\//i.test(options.modelBase)) {
      // Our own server as the "hub" (see the file comment for why not localModelPath).
      tf.env.allowLocalModels = false;
      tf.env.allowRemoteModels = true;
      tf.env.remoteHost = options.modelBase;
      tf.env.remotePathTemplate = '{model}/';
    } else {
      tf.env.allowLocalModels = true;
      tf.env.allowRemoteModels = false;
      tf.env.localModelPath = options.modelBase;
    }
    tf.env.useBrowserCache = options.useBrowserCache ?? false;
    tf.env.useFSCache = false;
    tf.env.fetch = options.fetch ?? defaultFetch!;
    const classifier = (await tf.pipeline('image-classification', options.modelId, {
      // transformers.js 4.3.1 fills no device list when it takes an onnxruntime from the global symbol, so any
      // named device ('wasm', 'webgpu', 'cpu') throws "Unsupported device"; 'auto' maps to that empty list and our
      // explicit executionProviders below take effect (`session_options.executionProviders ??= …`).
      device: 'auto',
      session_options: { executionProviders: [options.device] },
      // fp32 = onnx/model.onnx; transformers.js' per-device default may pick a quantized file we do not ship.
      dtype: 'fp32',
    })) as unknown as ImageClassifier;
    // The "one runtime" check: every session must come from the module we passed.
    // (The factory type is an interface in onnxruntime-common; at run time it is the session class.)
    const ourSession = options.ort.InferenceSession as unknown as abstract new (...args: never[]) => unknown;
    for (const [name, session] of Object.entries(classifier.model.sessions)) {
      if (!(session instanceof ourSession)) {
        await classifier.dispose();
        throw new Error(`safety checker: session "${name}" was not created by the shared onnxruntime module`);
      }
    }
    const id2label = classifier.model.config.id2label ?? {};
    const labels = Object.keys(id2label).sort((a, b) => Number(a) - Number(b)).map((k) => id2label[k]);
    if (!labels.includes(NSFW_LABEL)) {
      await classifier.dispose();
      throw new Error(`safety checker ${options.modelId}: id2label has no "${NSFW_LABEL}" label (labels: ${labels.join(', ')})`);
    }
    return new SafetyChecker(classifier, labels, options.displayName ?? options.modelId, options.device, performance.now() - started);
  }

  /** Classifies all images in one batch. Images are row-major RGB bytes of any size (the processor resizes). */
  async checkImages(images: readonly GeneratedImage[]): Promise<SafetyCheckResult> {
    const started = performance.now();
    if (images.length === 0) return { flagged: [], nsfwProbability: [], ms: 0 };
    const tf = await transformers!.module;
    const raw = images.map((im) => {
      if (im.rgb.length !== im.width * im.height * 3) throw new Error(`safety checker: image ${im.width}×${im.height} has ${im.rgb.length} bytes, expected ${im.width * im.height * 3}`);
      return new tf.RawImage(im.rgb, im.width, im.height, 3);
    });
    const out = await this.classifier(raw, { top_k: this.labels.length });
    const nsfwProbability = out.map((scores, i) => {
      const hit = scores.find((s) => s.label === NSFW_LABEL);
      if (!hit) throw new Error(`safety checker: no "${NSFW_LABEL}" score for image ${i}`);
      return hit.score;
    });
    return { flagged: nsfwProbability.map((p) => p > NSFW_THRESHOLD), nsfwProbability, ms: performance.now() - started };
  }

  dispose(): Promise<void> {
    return this.classifier.dispose();
  }
}

/** Loads the checker on first use only; `enable_safety_checker: false` requests never call it. */
export function lazySafetyChecker(options: SafetyCheckerOptions): { get(): Promise<SafetyChecker>; readonly loaded: boolean } {
  let pending: Promise<SafetyChecker> | undefined;
  return {
    get() {
      // A failed load is not cached: the next request retries (e.g. after the model store finished a download).
      pending ??= SafetyChecker.load(options).catch((e: unknown) => {
        pending = undefined;
        throw e;
      });
      return pending;
    },
    get loaded() {
      return pending !== undefined;
    },
  };
}

/** Typed log events (the queue API renders them as log lines; never free console text). */
export type SafetyEvent =
  | { type: 'safety-loaded'; modelId: string; device: SafetyDevice; ms: number }
  | { type: 'safety-image'; index: number; flagged: boolean; nsfwProbability: number; width: number; height: number }
  | { type: 'safety-disabled'; images: number };

export function safetyLogMessage(e: SafetyEvent): string {
  switch (e.type) {
    case 'safety-loaded':
      return `safety checker ${e.modelId} loaded on ${e.device} in ${e.ms.toFixed(0)} ms`;
    case 'safety-image':
      return `safety checker: image ${e.index} (${e.width}×${e.height}) P(nsfw) = ${e.nsfwProbability.toFixed(4)}` +
        (e.flagged ? ' > 0.5: flagged, replaced by a black image' : ': passed');
    case 'safety-disabled':
      return `safety checker disabled: ${e.images} image(s) not checked`;
  }
}

export interface SafetyOutput {
  /** Same order and sizes as the input; flagged images replaced by all-black RGB. Unflagged ones are the same objects. */
  images: GeneratedImage[];
  has_nsfw_concepts: boolean[];
  /** Seconds, hosted-API style. safety_checker includes a first-use load; absent when disabled. */
  timings: { safety_checker?: number };
  nsfwProbability: (number | null)[];
}

/** An all-black RGB image of the given size. */
export function blackImage(width: number, height: number): GeneratedImage {
  return { width, height, rgb: new Uint8Array(width * height * 3) };
}

/** Checkers whose load was already reported (the 'safety-loaded' line appears once per checker). */
const announced = new WeakSet<SafetyChecker>();

/**
 * Runs the checker over a generation's images (fal `postprocess_images` semantics). `getChecker` is only called
 * when `enabled`; one 'safety-image' event per image when enabled, one 'safety-disabled' otherwise.
 */
export async function applySafetyChecker(
  images: readonly GeneratedImage[],
  enabled: boolean,
  getChecker: () => Promise<SafetyChecker>,
  onEvent: (e: SafetyEvent) => void = () => undefined,
): Promise<SafetyOutput> {
  if (!enabled) {
    onEvent({ type: 'safety-disabled', images: images.length });
    return { images: [...images], has_nsfw_concepts: images.map(() => false), timings: {}, nsfwProbability: images.map(() => null) };
  }
  const started = performance.now();
  const checker = await getChecker();
  if (!announced.has(checker)) {
    announced.add(checker);
    onEvent({ type: 'safety-loaded', modelId: checker.modelId, device: checker.device, ms: checker.loadMs });
  }
  const r = await checker.checkImages(images);
  const out = images.map((im, i) => (r.flagged[i] ? blackImage(im.width, im.height) : im));
  images.forEach((im, i) => onEvent({ type: 'safety-image', index: i, flagged: r.flagged[i], nsfwProbability: r.nsfwProbability[i], width: im.width, height: im.height }));
  return {
    images: out,
    has_nsfw_concepts: r.flagged,
    timings: { safety_checker: (performance.now() - started) / 1000 },
    nsfwProbability: r.nsfwProbability,
  };
}
