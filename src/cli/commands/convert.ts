/**
 * `convert`: checkpoint files (official / diffusers / HF naming, F32/F16/BF16) → a model package directory
 * (graphs, ≤64 MiB chunks, manifest.json last). Weights stream through one chunk at a time.
 */
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { checkpointSource, type ModelKind } from '../../models/checkpoint-source.ts';
import { detectKind, presetFor } from '../../models/detect.ts';
import { PRECISIONS } from '../../models/model-context.ts';
import { writeComponent, writeManifest, writePackageFile, type ComponentManifest, type PackageFile, type PackageSink } from '../../models/model-package.ts';
import { buildForPackage, parseModelConfig, type AnyModelConfig, type ModelBuildOptions } from '../../models/registry.ts';
import { fileSource } from '../../weights/node-file-source.ts';
import { SafetensorsFile } from '../../weights/safetensors.ts';
import { oneOf, parseCli, required, UsageError } from '../args.ts';
import type { CliCommand } from '../command.ts';

const USAGE =
  'npm run cli -- convert --from <checkpoint.safetensors> [--from …] --to <dir> [--precision fp32|fp16|int8|int4] ' +
  '[--config <kind>=<config.json> …] [--tokenizer <dir>] [--stage-a-scale 0.43] [--name N]';

const TOKENIZER_FILES = ['vocab.json', 'merges.txt', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];

export const command: CliCommand = {
  summary: 'convert checkpoints into a model package (ONNX graphs + weight chunks + manifest)',
  async run(argv) {
    const { values } = parseCli(argv, {
      from: { type: 'string', multiple: true },
      to: { type: 'string' },
      precision: { type: 'string' },
      config: { type: 'string', multiple: true },
      tokenizer: { type: 'string' },
      'stage-a-scale': { type: 'string' },
      name: { type: 'string' },
    }, USAGE);
    if (!values.from?.length) throw new UsageError('missing --from', USAGE);
    const outDir = required(values.to, '--to', USAGE);
    const precision = oneOf(values.precision, PRECISIONS, '--precision', 'fp16', USAGE);
    const configs = new Map<ModelKind, AnyModelConfig>();
    for (const spec of values.config ?? []) {
      const [kind, path] = spec.split('=', 2);
      if (!path) throw new UsageError(`--config takes <kind>=<file> (got "${spec}")`, USAGE);
      const model = parseModelConfig(JSON.parse(await readFile(path, 'utf8')));
      if (model.kind !== kind) throw new UsageError(`--config ${kind}=… holds a ${model.kind} config`, USAGE);
      configs.set(model.kind, model);
    }

    // Group the files by the network they belong to (diffusers shards share a kind).
    const byKind = new Map<ModelKind, SafetensorsFile[]>();
    for (const path of values.from) {
      const file = await SafetensorsFile.open(fileSource(path));
      const kind = detectKind({ name: path, has: (t) => file.has(t), shape: (t) => file.tensors.get(t)?.shape });
      byKind.set(kind, [...(byKind.get(kind) ?? []), file]);
    }

    await mkdir(outDir, { recursive: true });
    await rm(join(outDir, 'manifest.json'), { force: true }); // the package is incomplete until the new manifest lands
    const sink: PackageSink = {
      write: async (path, bytes) => {
        await mkdir(dirname(join(outDir, path)), { recursive: true });
        await writeFile(join(outDir, path), bytes);
      },
    };
    const components: Partial<Record<ModelKind, ComponentManifest>> = {};
    for (const [kind, files] of byKind) {
      const first = files[0];
      const shapes = { name: first.name, has: (t: string) => files.some((f) => f.has(t)), shape: (t: string) => files.find((f) => f.has(t))?.info(t).shape };
      const model = configs.get(kind) ?? presetFor(kind, shapes);
      const build: ModelBuildOptions = { precision };
      if (kind === 'stage_a' && values['stage-a-scale']) build.scaleFactor = Number(values['stage-a-scale']);
      const { main, conditioning } = buildForPackage(model, build, checkpointSource(files, kind));
      const started = performance.now();
      components[kind] = await writeComponent(sink, kind, model, build, main, (p) => {
        if (p.type === 'chunk') process.stdout.write(`\r${kind}: chunk ${p.index + 1}/${p.chunks} (${(p.bytesDone / 2 ** 20).toFixed(0)}/${(p.bytes / 2 ** 20).toFixed(0)} MiB)`);
      }, conditioning);
      const c = components[kind]!;
      process.stdout.write(`\r${kind}: ${c.totalParameters.toLocaleString('en-US')} parameters, ${c.chunks.length + (c.conditioning?.chunks.length ?? 0)} chunk(s) in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    }

    let tokenizer: PackageFile[] | undefined;
    if (values.tokenizer) {
      tokenizer = [];
      for (const f of TOKENIZER_FILES) {
        const src = join(values.tokenizer, f);
        if (!(await stat(src).catch(() => null))) continue;
        tokenizer.push(await writePackageFile(sink, `tokenizer/${f}`, await readFile(src)));
      }
      if (!tokenizer.length) throw new Error(`${values.tokenizer}: no tokenizer files (${TOKENIZER_FILES.join(', ')})`);
    }
    const manifest = await writeManifest(sink, {
      name: values.name ?? basename(outDir),
      precision,
      components,
      tokenizer,
      source: Object.fromEntries(values.from.map((p, i) => [`file${i}`, basename(p)])),
    });
    console.log(`wrote ${outDir}/manifest.json: ${Object.keys(components).join(', ')}; ${(manifest.totalBytes / 2 ** 20).toFixed(1)} MiB`);
  },
};
