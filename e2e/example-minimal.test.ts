/**
 * The library as another app uses it: `npm run build:lib`, `npm pack` of dist-lib, a clean copy of
 * examples/minimal whose only dependencies are that tarball and vite, `npm install`, a TypeScript check of a
 * consumer file against the installed declarations, `vite build`, `vite preview`, and a generation with the tiny
 * demo model in Chromium through the example's own page (its form, `fal.subscribe`). Nothing of this repository
 * is served: the page sees only what the example's build emitted from the installed package.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { launchBrowser, type BrowserSession } from './support/browser.ts';
import { REPO_ROOT } from './support/server.ts';

interface ExampleResult {
  requestId?: string;
  image?: { url: string; width: number; height: number; content_type: string };
  seed?: number;
  error?: string;
}

declare global {
  interface Window {
    exampleResult?: ExampleResult;
  }
}

/** A consumer's TypeScript, checked against the installed package's declarations (types are real, not any). */
const CONSUMER_TS = `import { ApiError, createFalClient, fal, type QueueStatus, type SoteOutput } from 'sote-webgpu';
export async function generate(): Promise<SoteOutput> {
  const r = await fal.subscribe('fal-ai/stable-cascade/sote-diffusion', { input: { prompt: 'x', image_size: 'square' }, logs: true, onQueueUpdate: (s: QueueStatus) => s.request_id });
  const stream = await createFalClient({ credentials: 'hf_x' }).stream('fal-ai/stable-cascade/sote-diffusion', { input: { prompt: 'x' } });
  for await (const event of stream) console.log(event);
  if (r.data.images[0].width < 1) throw new ApiError({ message: 'm', status: 500, body: null });
  // @ts-expect-error a number is not a prompt
  await fal.run('fal-ai/stable-cascade/sote-diffusion', { input: { prompt: 3 } });
  return r.data;
}
`;

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' } });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((ok) => server.close(() => ok()));
  return port;
}

describe('examples/minimal with the packed library', () => {
  let work: string | undefined;
  let preview: ChildProcess | undefined;
  let browser: BrowserSession | undefined;
  let origin = '';
  let app = '';
  const previewLog: string[] = [];

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'sote-example-'));
    // The package, built from this tree and packed as it would be published.
    execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs'), join(REPO_ROOT, 'scripts/build-demo-model.ts')], { cwd: REPO_ROOT, stdio: 'inherit' });
    execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs'), join(REPO_ROOT, 'scripts/build-lib.ts')], { cwd: REPO_ROOT, stdio: 'inherit' });
    const tarball = run(npm, ['pack', join(REPO_ROOT, 'dist-lib'), '--pack-destination', work], work).trim().split('\n').pop()!;
    // A clean copy of the example, depending on the tarball instead of the dist-lib folder.
    app = join(work, 'app');
    await cp(join(REPO_ROOT, 'examples/minimal'), app, { recursive: true, filter: (src) => !/(node_modules|dist|package-lock\.json)$/.test(src) });
    const manifest = JSON.parse(await readFile(join(app, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    expect(Object.keys(manifest.dependencies)).toEqual(['sote-webgpu']);
    expect(Object.keys(manifest.devDependencies)).toEqual(['vite']);
    manifest.dependencies['sote-webgpu'] = `file:${join(work, tarball)}`;
    await writeFile(join(app, 'package.json'), JSON.stringify(manifest, null, 2));
    run(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund'], app);
    run(process.execPath, [join(app, 'node_modules/vite/bin/vite.js'), 'build'], app);
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    preview = spawn(process.execPath, [join(app, 'node_modules/vite/bin/vite.js'), 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] });
    preview.stdout?.on('data', (b: Buffer) => previewLog.push(b.toString()));
    preview.stderr?.on('data', (b: Buffer) => previewLog.push(b.toString()));
    for (let i = 0; i < 100; i++) {
      const up = await fetch(origin).then((r) => r.ok, () => false);
      if (up) break;
      await new Promise((ok) => setTimeout(ok, 200));
    }
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    preview?.kill();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('the installed package has its exports: entry with types, worker, onnxruntime-web files, demo model', async () => {
    const pkgDir = join(app, 'node_modules/sote-webgpu');
    const pkg = JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8')) as { exports: Record<string, string | Record<string, string>>; dependencies: Record<string, string> };
    const entry = pkg.exports['.'] as Record<string, string>;
    for (const file of [entry.import, entry.types, pkg.exports['./worker'] as string]) expect(existsSync(join(pkgDir, file)), file).toBe(true);
    const assets = await readdir(join(pkgDir, 'assets'));
    for (const name of ['ort-wasm-simd-threaded.jspi.wasm', 'ort-wasm-simd-threaded.asyncify.wasm', 'ort.jspi.bundle.min.js', 'ort.webgpu.bundle.min.js', 'generator.worker.js']) expect(assets).toContain(name);
    expect(existsSync(join(pkgDir, 'demo/models/tiny-demo/manifest.json'))).toBe(true);
    // The consumer's build found the worker and the .wasm from the module, with no configuration for them.
    const built = await readdir(join(app, 'dist/assets'));
    expect(built.some((f) => /^generator\.worker-.*\.js$/.test(f))).toBe(true);
    expect(built.filter((f) => f.endsWith('.wasm'))).toHaveLength(2);
  });

  it('a consumer\'s TypeScript type-checks against the installed declarations', async () => {
    await writeFile(join(app, 'consumer.ts'), CONSUMER_TS);
    await writeFile(join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', strict: true, noEmit: true, skipLibCheck: true, lib: ['ES2023', 'DOM', 'DOM.Iterable'], types: [] },
      files: ['consumer.ts'],
    }));
    let output = '';
    try {
      run(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', app], app);
    } catch (e) {
      output = String((e as { stdout?: string }).stdout ?? e);
    }
    expect(output).toBe('');
  });

  it('the example page generates with the tiny demo model through fal.subscribe', async () => {
    onTestFailed(() => {
      browser?.printLogs('browser log (example)');
      console.log(`vite preview:\n${previewLog.join('')}`);
    });
    const page = browser!.page;
    await page.goto(`${origin}/?backend=wasm`);
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.waitForFunction(() => window.exampleResult !== undefined, undefined, { timeout: 240_000 });
    const r = await page.evaluate(async () => {
      const img = document.querySelector<HTMLImageElement>('#image')!;
      await img.decode();
      return { result: window.exampleResult!, natural: [img.naturalWidth, img.naturalHeight], status: document.querySelector('#status')!.textContent };
    });
    console.log(`example: ${r.status}`);
    expect(r.result.error).toBeUndefined();
    expect(r.result.image).toMatchObject({ url: expect.stringMatching(/^blob:/), width: 256, height: 256, content_type: 'image/png' });
    expect(r.natural).toEqual([256, 256]);
    expect(r.status).toMatch(/^Done: 256×256, seed \d+/);
  });
});
