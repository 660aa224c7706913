/**
 * Conversion into a package: a network's checkpoint file(s) into its ONNX graph and weight chunks, and the
 * safety checker's hub files into `safety/`. Installs (install.ts) feed it verified downloads, imports
 * (import.ts) picked files; both write through a PackageSink, so the result is the same package.
 */
import { checkpointSource, type ModelKind } from '../models/checkpoint-source.ts';
import { detectKind, presetFor, type TensorShapes } from '../models/detect.ts';
import type { Precision } from '../models/model-context.ts';
import {
  SAFETY_CHECKER_DIR,
  writeComponent,
  writePackageFile,
  type ComponentManifest,
  type PackageFile,
  type PackageSink,
  type SafetyCheckerManifest,
} from '../models/model-package.ts';
import { buildForPackage, parseModelConfig, type ModelBuildOptions } from '../models/registry.ts';
import { convertViTCheckpoint, parseViTClassifierConfig } from '../models/vit-classifier.ts';
import { NSFW_LABEL } from '../safety/safety-checker.ts';
import { blobSource } from '../weights/byte-source.ts';
import { SafetensorsFile } from '../weights/safetensors.ts';
import { safetyCheckerFileKind, type CheckpointSource, type SafetyCheckerSource } from './descriptor.ts';
import { DescriptorError } from './errors.ts';
import type { InstallEvent } from './progress.ts';

/** Converted bytes per 16-bit checkpoint byte, for the quota check when the descriptor gives no size. */
const PACKAGE_FACTOR: Readonly<Record<Precision, number>> = { fp32: 2, fp16: 1, int8: 0.6, int4: 0.35 };

/** Estimated package size converted from `checkpointBytes` of 16-bit checkpoints at `precision`. */
export function estimatePackageBytes(checkpointBytes: number, precision: Precision): number {
  return checkpointBytes * PACKAGE_FACTOR[precision];
}

/**
 * One network from its checkpoint file(s) (Blobs: stored slices or picked Files) into the package: detected
 * kind must match the role; config from the descriptor or the released-size presets.
 */
export async function convertComponent(
  role: ModelKind,
  inputs: { name: string; blob: Blob }[],
  source: Pick<CheckpointSource, 'configs' | 'stageAScale'>,
  precision: Precision,
  sink: PackageSink,
  emit: (e: InstallEvent) => void,
  signal?: AbortSignal,
): Promise<ComponentManifest> {
  const files = await Promise.all(inputs.map((f) => SafetensorsFile.open(blobSource(f.blob, f.name))));
  const shapes: TensorShapes = {
    name: inputs.map((f) => f.name).join(', '),
    has: (t) => files.some((f) => f.has(t)),
    shape: (t) => files.find((f) => f.has(t))?.info(t).shape,
  };
  const detected = detectKind(shapes);
  if (detected !== role) throw new DescriptorError(shapes.name, [`listed as ${role} but holds a ${detected} checkpoint`]);
  const raw = source.configs[role];
  const model = raw !== undefined ? parseModelConfig(raw) : presetFor(role, shapes);
  if (model.kind !== role) throw new DescriptorError(shapes.name, [`configs.${role} is a ${model.kind} config`]);
  const build: ModelBuildOptions = { precision };
  if (role === 'stage_a') build.scaleFactor = source.stageAScale;
  const { main, conditioning } = buildForPackage(model, build, checkpointSource(files, role));
  return writeComponent(sink, role, model, build, main, (p) => {
    signal?.throwIfAborted();
    if (p.type === 'chunk') emit({ type: 'convert', kind: role, chunk: p.index + 1, chunks: p.chunks, bytesDone: p.bytesDone, bytesTotal: p.bytes });
  }, conditioning);
}

/**
 * The safety checker from its verified hub files (config.json, preprocessor_config.json, one .safetensors;
 * `path` = path in the checker repo) into the package under `safety/`, in the layout transformers.js loads
 * (SafetyChecker in safety/safety-checker.ts): config.json, preprocessor_config.json, onnx/model.onnx and its
 * external data onnx/model.onnx_data[_N]. Its config must label a class "nsfw" (the decision reads it).
 */
export async function convertSafetyChecker(
  checker: Pick<SafetyCheckerSource, 'repo' | 'revision'>,
  inputs: { path: string; blob: Blob }[],
  sink: PackageSink,
  emit: (e: InstallEvent) => void,
  signal?: AbortSignal,
): Promise<SafetyCheckerManifest> {
  const pick = (kind: 'config' | 'preprocessor' | 'weights') => {
    const found = inputs.filter((f) => safetyCheckerFileKind(f.path) === kind);
    if (found.length !== 1) throw new DescriptorError(`safety checker ${checker.repo}`, [`expected one ${kind} file, got ${found.length}`]);
    return found[0];
  };
  const config = new Uint8Array(await pick('config').blob.arrayBuffer());
  const preprocessor = new Uint8Array(await pick('preprocessor').blob.arrayBuffer());
  const weights = pick('weights');
  let labels: string[];
  try {
    labels = parseViTClassifierConfig(JSON.parse(new TextDecoder().decode(config))).labels;
  } catch (e) {
    throw new DescriptorError(`safety checker ${checker.repo}/config.json`, [(e as Error).message]);
  }
  if (!labels.includes(NSFW_LABEL)) {
    throw new DescriptorError(`safety checker ${checker.repo}/config.json`, [`id2label has no "${NSFW_LABEL}" class (labels: ${labels.join(', ')})`]);
  }
  signal?.throwIfAborted();
  // One file in memory at a time: a weight chunk is produced (its tensors read from the Blob by range) only
  // when it is written, and dropped before the next (vit-classifier.ts convertViTCheckpoint).
  const out = convertViTCheckpoint(config, preprocessor, await SafetensorsFile.open(blobSource(weights.blob, `${checker.repo}/${weights.path}`)));
  const bytesTotal = out.reduce((a, f) => a + f.bytes, 0);
  const files: PackageFile[] = [];
  let bytesDone = 0;
  for (const [i, f] of out.entries()) {
    signal?.throwIfAborted();
    files.push(await writePackageFile(sink, `${SAFETY_CHECKER_DIR}${f.path}`, await f.read()));
    bytesDone += f.bytes;
    emit({ type: 'convert', kind: 'safety_checker', chunk: i + 1, chunks: out.length, bytesDone, bytesTotal });
  }
  return { modelId: checker.repo, revision: checker.revision, files };
}
