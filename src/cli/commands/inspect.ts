/**
 * `inspect <file>`: what a file is, without loading its weights — a safetensors checkpoint (header only:
 * tensor count, dtypes, parameters, detected network and preset), a model package (manifest.json or its
 * directory), or an ONNX graph written by this project (inputs, outputs, op counts).
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { formatBytes } from '../../core/format-bytes.ts';
import { detectKind, presetFor } from '../../models/detect.ts';
import { MANIFEST_FILE, parseManifest } from '../../models/model-package.ts';
import { ONNX_PROTO_SUBSET } from '../../onnx/onnx-schema.ts';
import { fileSource } from '../../weights/node-file-source.ts';
import { DTYPE_BYTES, SafetensorsFile } from '../../weights/safetensors.ts';
import { UsageError } from '../args.ts';
import type { CliCommand } from '../command.ts';

const USAGE = 'npm run cli -- inspect <file.safetensors | file.onnx | package-dir | manifest.json>';
const mib = (n: number) => formatBytes(n, { unit: 'MiB' });

async function inspectSafetensors(path: string): Promise<void> {
  const f = await SafetensorsFile.open(fileSource(path));
  const byDtype = new Map<string, { tensors: number; params: number }>();
  for (const t of f.tensors.values()) {
    const e = byDtype.get(t.dtype) ?? { tensors: 0, params: 0 };
    e.tensors++;
    e.params += t.shape.reduce((a, d) => a * d, 1);
    byDtype.set(t.dtype, e);
  }
  console.log(`${path}: safetensors, ${mib(f.byteSize)}, ${f.tensors.size} tensors`);
  for (const [dtype, e] of byDtype) console.log(`  ${dtype}: ${e.tensors} tensors, ${e.params.toLocaleString('en-US')} values (${mib(e.params * DTYPE_BYTES[dtype as keyof typeof DTYPE_BYTES])})`);
  if (Object.keys(f.metadata).length) console.log(`  metadata: ${JSON.stringify(f.metadata).slice(0, 400)}`);
  const shapes = { name: path, has: (t: string) => f.has(t), shape: (t: string) => f.tensors.get(t)?.shape };
  try {
    const kind = detectKind(shapes);
    let preset = 'not a released size (convert needs --config)';
    try {
      const p = presetFor(kind, shapes);
      preset = JSON.stringify(p.config).slice(0, 120);
    } catch { /* reported above */ }
    const naming = kind === 'stage_c' || kind === 'stage_b'
      ? ([...f.tensors.keys()].some((n) => n.includes('.attention.to_q.')) ? 'diffusers' : 'official (Stability)')
      : kind === 'clip_text' ? 'Hugging Face' : 'official';
    console.log(`  network: ${kind}, ${naming} naming; preset: ${preset}`);
  } catch (e) {
    console.log(`  network: unknown (${(e as Error).message})`);
  }
}

async function inspectOnnx(path: string): Promise<void> {
  const type = protobuf.parse(ONNX_PROTO_SUBSET).root.lookupType('onnx.ModelProto');
  const model = type.toObject(type.decode(await readFile(path)), { longs: Number }) as {
    opsetImport?: { domain?: string; version?: number }[];
    graph?: { name?: string; node?: { opType?: string }[]; initializer?: { name?: string }[]; input?: { name?: string }[]; output?: { name?: string }[] };
  };
  const g = model.graph ?? {};
  const ops = new Map<string, number>();
  for (const n of g.node ?? []) ops.set(n.opType ?? '?', (ops.get(n.opType ?? '?') ?? 0) + 1);
  console.log(`${path}: ONNX graph "${g.name}", opsets ${(model.opsetImport ?? []).map((o) => `${o.domain || 'ai.onnx'}:${o.version}`).join(', ')}`);
  console.log(`  inputs: ${(g.input ?? []).map((i) => i.name).join(', ')}`);
  console.log(`  outputs: ${(g.output ?? []).map((o) => o.name).join(', ')}`);
  console.log(`  ${(g.node ?? []).length} nodes, ${(g.initializer ?? []).length} initializers`);
  console.log(`  ops: ${[...ops].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}×${v}`).join(' ')}`);
}

async function inspectPackage(manifestPath: string): Promise<void> {
  const m = parseManifest(await readFile(manifestPath, 'utf8'), manifestPath);
  console.log(`${manifestPath}: model package "${m.name}", ${m.precision}, ${mib(m.totalBytes)}`);
  for (const c of Object.values(m.components)) {
    if (!c) continue;
    for (const [label, g] of [[c.kind, c], [`${c.kind} conditioning`, c.conditioning]] as const) {
      if (!g) continue;
      const bytes = g.graph.bytes + g.chunks.reduce((a, f) => a + f.bytes, 0);
      console.log(`  ${label}: ${g.parameters.toLocaleString('en-US')} parameters, ${mib(bytes)} in ${g.chunks.length} chunk(s), weights ${Object.entries(g.weightBytes).map(([d, b]) => `${d} ${mib(b)}`).join(', ')}`);
    }
  }
  if (m.tokenizer) console.log(`  tokenizer: ${m.tokenizer.map((f) => f.path).join(', ')}`);
}

export const command: CliCommand = {
  summary: 'describe a checkpoint, ONNX graph or model package without loading weights',
  async run(argv) {
    const path = argv[0];
    if (!path || argv.length > 1) throw new UsageError('inspect takes exactly one path', USAGE);
    const st = await stat(path).catch(() => null);
    if (!st) throw new Error(`${path}: no such file or directory`);
    if (st.isDirectory()) return inspectPackage(join(path, MANIFEST_FILE));
    if (path.endsWith(MANIFEST_FILE)) return inspectPackage(path);
    if (path.endsWith('.onnx')) return inspectOnnx(path);
    return inspectSafetensors(path);
  },
};
