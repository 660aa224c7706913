/**
 * A measurement, not a test: converts a ViT-base-sized random safety checker (85.8 M parameters, F32
 * model.safetensors ≈ 343 MB in Falconsai/nsfw_image_detection's layout) in Chromium with convertSafetyChecker
 * into IndexedDB — what an install does with the verified downloads — and reports the resident memory of the
 * whole browser (every Chromium process summed, and the renderer alone) before and during the conversion.
 *
 *   npx tsx scripts/measure-vit-convert.ts [--dir /tmp/vit-measure] [--out result.json]
 *
 * The checkpoint is written once to --dir (streamed, seed 0, released-files.ts' initialisation rule) and reused.
 * Memory is sampled from /proc every 50 ms; the three input files are fetched into Blobs before the baseline.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { launchBrowser } from '../e2e/support/browser.ts';
import { startStaticServer, startViteServer } from '../e2e/support/server.ts';
import { fixtureInit, tensorValues } from '../src/models/released-files.ts';
import { vitPreprocessorConfig } from '../src/models/tiny-classifier.ts';
import { buildViTForImageClassification, parseViTClassifierConfig, vitConfigJson, vitParameterCount } from '../src/models/vit-classifier.ts';
import { writeSafetensorsFile } from '../src/weights/safetensors-file-writer.ts';
import type { TensorSpec } from '../src/weights/safetensors-writer.ts';
import { pidsWithArg, processTree, rssByType } from './scale-support.ts';

const GiB = 2 ** 30;

async function writeCheckpoint(dir: string): Promise<number> {
  // HF ViTConfig defaults = google/vit-base-patch16-224, Falconsai/nsfw_image_detection's size.
  const vit = parseViTClassifierConfig({ id2label: { 0: 'normal', 1: 'nsfw' } });
  const file = join(dir, 'model.safetensors');
  if (!existsSync(file)) {
    await mkdir(dir, { recursive: true });
    const specs: TensorSpec[] = [...buildViTForImageClassification(vit).expected].map(([name, shape]) => ({ name, dtype: 'F32', shape }));
    let current = '';
    let fill: (out: Float32Array) => void = () => {};
    await writeSafetensorsFile(file, specs, (t, start, out) => {
      if (start === 0 || t.name !== current) {
        current = t.name;
        fill = tensorValues(0, t.name, fixtureInit(t.name, t.shape));
      }
      fill(out);
    }, { format: 'pt' });
    const enc = new TextEncoder();
    await writeFile(join(dir, 'config.json'), enc.encode(JSON.stringify(vitConfigJson(vit), null, 2)));
    await writeFile(join(dir, 'preprocessor_config.json'), enc.encode(JSON.stringify(vitPreprocessorConfig(vit.image_size), null, 2)));
  }
  return vitParameterCount(vit);
}

interface Peak {
  total: number;
  renderer: number;
  byType: Record<string, number>;
}

function sample(userDataDir: string): Peak {
  const byType = rssByType(processTree(pidsWithArg(userDataDir)));
  return { total: Object.values(byType).reduce((a, b) => a + b, 0), renderer: byType.renderer ?? 0, byType };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { dir: { type: 'string' }, out: { type: 'string' } } });
  const dir = resolve(values.dir ?? '/tmp/vit-measure');
  const parameters = await writeCheckpoint(dir);
  const vite = await startViteServer();
  const files = await startStaticServer(dir);
  const browser = await launchBrowser();
  try {
    const { page } = browser;
    await page.goto(`${vite.origin}/e2e/pages/store.html`);
    const inputBytes = await page.evaluate(async (base) => {
      const w = window as unknown as { measureInputs: { path: string; blob: Blob }[] };
      w.measureInputs = [];
      for (const path of ['config.json', 'preprocessor_config.json', 'model.safetensors']) {
        w.measureInputs.push({ path, blob: await (await fetch(`${base}/${path}`)).blob() });
      }
      return w.measureInputs.reduce((a, f) => a + f.blob.size, 0);
    }, files.origin);
    await new Promise((r) => setTimeout(r, 2000));
    const baseline = sample(browser.userDataDir);
    // The sample with the largest total (and its split by process type), and the largest renderer RSS seen.
    let peak = baseline;
    let peakRenderer = baseline.renderer;
    const timer = setInterval(() => {
      const s = sample(browser.userDataDir);
      if (s.total > peak.total) peak = s;
      peakRenderer = Math.max(peakRenderer, s.renderer);
    }, 50);
    const started = performance.now();
    const converted = await page.evaluate(async ([convertUrl, storeUrl]) => {
      const w = window as unknown as { measureInputs: { path: string; blob: Blob }[] };
      const { convertSafetyChecker } = (await import(convertUrl)) as typeof import('../src/store/convert-component.ts');
      const { idbPackageSink } = (await import(storeUrl)) as typeof import('../src/store/package-store.ts');
      const manifest = await convertSafetyChecker({ repo: 'measure/vit-base', revision: 'main' }, w.measureInputs, idbPackageSink('measure-vit'), () => undefined);
      return manifest.files.map((f) => ({ path: f.path, bytes: f.bytes }));
    }, ['/src/store/convert-component.ts', '/src/store/package-store.ts'] as const);
    const seconds = (performance.now() - started) / 1000;
    clearInterval(timer);
    const result = {
      date: new Date().toISOString(),
      parameters,
      inputBytes,
      seconds,
      files: converted,
      baseline: { totalGiB: baseline.total / GiB, rendererGiB: baseline.renderer / GiB },
      peak: { totalGiB: peak.total / GiB, rendererGiB: peakRenderer / GiB, byTypeGiB: Object.fromEntries(Object.entries(peak.byType).map(([k, v]) => [k, v / GiB])) },
    };
    console.log(JSON.stringify(result, null, 2));
    if (values.out) await writeFile(values.out, JSON.stringify(result, null, 2));
  } finally {
    await browser.close();
    await files.stop();
    await vite.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
