/**
 * A descriptor whose files come from two repos of one hub, as the built-in Stable Cascade's do (stage files from
 * stabilityai/stable-cascade, the text encoder and tokenizer from stabilityai/stable-cascade-prior): each file is
 * fetched from `<its repo>/resolve/<its revision>/` and, without a sha256 in the descriptor, verified against
 * *its* repo's tree API. The local hub (e2e/support/hub-fixture.ts) publishes the tiny model split over
 * test/tiny-cascade (Stage A/B/C) and test/tiny-prior (text encoder + tokenizer): a file fetched from the wrong
 * repo is a 404, a digest looked up in the wrong tree is missing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { launchBrowser, type BrowserSession } from './support/browser.ts';
import { startStaticServer, startViteServer, type RunningVite, type StaticServer } from './support/server.ts';
import type { InstallSummary } from './pages/store.ts';
import { buildFixture, descriptor, FILE_NAMES, publish, REVISION, type Fixture } from './support/hub-fixture.ts';

const MAIN = 'test/tiny-cascade';
const PRIOR = 'test/tiny-prior';
const fromPrior = (f: Fixture) => f.role === 'tokenizer' || f.role === 'clip_text';

describe('model store: files from two repos of one hub', () => {
  let vite: RunningVite | undefined;
  let hub: StaticServer | undefined;
  let browser: BrowserSession | undefined;
  let root = '';
  let files: Fixture[] = [];
  const page = () => browser!.page;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'sote-two-repos-'));
    files = await buildFixture();
    await publish(root, MAIN, files.filter((f) => !fromPrior(f)));
    await publish(root, PRIOR, files.filter(fromPrior));
    hub = await startStaticServer(root);
    vite = await startViteServer();
    browser = await launchBrowser();
    await page().goto(`${vite.origin}/e2e/pages/store.html`);
    await page().waitForFunction(() => window.soteStoreReady === true, undefined, { timeout: 120_000 });
  });

  afterAll(async () => {
    await browser?.close();
    await vite?.stop();
    await hub?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('fetches each file from its own repo and verifies the unhashed ones against that repo\'s tree API', async () => {
    onTestFailed(() => browser?.printLogs());
    const published = descriptor(hub!.origin, MAIN, 'tiny-two-repos', files);
    const d = {
      ...published,
      source: {
        ...published.source,
        files: published.source.files.map((f): Record<string, unknown> => {
          if (f.role !== 'tokenizer' && f.role !== 'clip_text') return f;
          // The text encoder keeps only its size: its sha256 must come from the prior repo's tree (lfs.oid).
          return f.role === 'clip_text' ? { role: f.role, path: f.path, size: f.size, repo: PRIOR, revision: REVISION } : { ...f, repo: PRIOR, revision: REVISION };
        }),
      },
    };
    const r = await page().evaluate((dd) => window.soteStore!.install(dd, { precision: 'fp32', parallel: 2 }), d) as InstallSummary;
    expect(r.error).toBeUndefined();
    expect(r.id).toBe('tiny-two-repos@fp32');
    for (const f of files) {
      const repo = fromPrior(f) ? PRIOR : MAIN;
      const other = fromPrior(f) ? MAIN : PRIOR;
      expect(hub!.bytesServed(`/${repo}/resolve/${REVISION}/${f.path}`), f.path).toBeGreaterThanOrEqual(f.bytes.length);
      expect(hub!.bytesServed(`/${other}/resolve/${REVISION}/${f.path}`), f.path).toBe(0);
    }
    expect(hub!.requests.some((q) => q.path === `/api/models/${PRIOR}/tree/${REVISION}`)).toBe(true);
    const verify = r.events.flatMap((e) => (e.type === 'verify' ? [[e.file, e.algorithm, e.ok] as const] : []));
    expect(verify).toHaveLength(files.length);
    expect(verify.every(([, , ok]) => ok)).toBe(true);
    expect(verify.find(([file]) => file === FILE_NAMES.clip_text)?.[1]).toBe('sha256');
    expect(verify.find(([file]) => file === 'tokenizer/merges.txt')?.[1]).toBe('git-sha1');
    const img = await page().evaluate(() => window.soteStore!.generate('tiny-two-repos@fp32'));
    expect(img).toMatchObject({ width: 256, height: 256 });
  });
});
