/**
 * The Models panel end to end: a local "hub" (startStaticServer) serves the tiny model in the published layout
 * (support/hub-fixture.ts, shared with store-install) plus its descriptor JSON; the page is opened with
 * `?hub=<local>&model=<descriptor url>`, the test clicks Install, sees per-file and overall progress, selects
 * the installed model, generates on WASM through the form, then deletes the model and sees it gone (and the
 * storage line report usage before → after), and imports the exported .tar through the file picker.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { launchBrowser, type BrowserSession } from './support/browser.ts';
import { buildFixture, descriptor, FILE_NAMES, publish, REVISION, type Fixture } from './support/hub-fixture.ts';
import { startStaticServer, startViteServer, type RunningVite, type StaticServer } from './support/server.ts';

const REPO = 'test/tiny-ui';
const ID = 'tiny-ui';

describe('Models panel (install → generate → delete) with a local hub', () => {
  let vite: RunningVite | undefined;
  let hub: StaticServer | undefined;
  let browser: BrowserSession | undefined;
  let root = '';
  let files: Fixture[] = [];
  /** Per-request cut-off rule (bytes sent before the connection drops) the resume test switches on and off. */
  let cut: ((path: string) => number | undefined) | undefined;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'sote-store-ui-hub-'));
    files = await buildFixture();
    await publish(root, REPO, files);
    hub = await startStaticServer(root, { cutAfterBytes: (path) => cut?.(path) });
    // The descriptor names the hub it was published for; ?hub= on the page must still be what is used.
    await writeFile(join(root, 'tiny-ui.json'), JSON.stringify(descriptor('https://hub.invalid', REPO, ID, files)));
    await writeFile(join(root, 'tiny-resume.json'), JSON.stringify(descriptor('https://hub.invalid', REPO, 'tiny-resume', files)));
    vite = await startViteServer();
    browser = await launchBrowser();
    await browser.page.setViewportSize({ width: 1280, height: 900 });
    await browser.context.browser()?.newBrowserCDPSession().then((b) => b.send('Browser.grantPermissions', { permissions: ['durableStorage'], origin: vite!.origin })).catch(() => undefined);
  });

  afterAll(async () => {
    await browser?.close();
    await vite?.stop();
    await hub?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('installs from ?model=<url> with progress, generates with the installed model on WASM, deletes it', async () => {
    onTestFailed(() => browser?.printLogs('browser log (page)'));
    const page = browser!.page;
    const descriptorUrl = `${hub!.origin}/tiny-ui.json`;
    await page.goto(`${vite!.origin}/?hub=${encodeURIComponent(hub!.origin)}&model=${encodeURIComponent(descriptorUrl)}`);

    // The catalogue shows SoteDiffusion with its sizes per precision and the URL descriptor.
    const sote = page.locator('.catalogue .entry[data-model="sotediffusion-v2"]');
    await sote.waitFor({ timeout: 60_000 });
    const soteOptions = await sote.locator('select option').allTextContents();
    expect(soteOptions.join('\n')).toMatch(/fp16 — 10\.83 GiB/);
    expect(soteOptions.join('\n')).toMatch(/int4 — 3\.67 GiB/);
    const entry = page.locator(`.catalogue .entry[data-model="${ID}"]`);
    await entry.waitFor({ timeout: 30_000 });
    expect(await entry.locator('select').inputValue()).toBe('fp32');
    await page.locator('.installed', { hasText: 'None yet' }).waitFor({ timeout: 30_000 });

    await entry.locator('button.install').click();
    // Progress: per-file rows and the overall line with bytes, rate and ETA.
    await page.locator('.install-progress .files .file').first().waitFor({ timeout: 30_000 });
    const overall = await page.locator('.install-progress .overall-text').textContent();
    console.log(`progress seen: ${overall}`);
    expect(overall).toMatch(/^Overall: [\d.]+ (B|KiB|MiB) \/ [\d.]+ (B|KiB|MiB) · [\d.]+ (B|KiB|MiB)\/s · ETA/);
    await page.locator('.install-progress .install-done').waitFor({ timeout: 60_000 });
    // Every published file was requested from the local hub (the ?hub= override, not hub.invalid).
    for (const f of files) expect(hub!.bytesServed(`/${REPO}/resolve/${REVISION}/${f.path}`)).toBeGreaterThanOrEqual(f.bytes.length);

    const row = page.locator(`.installed-model[data-model="${ID}@fp32"]`);
    await row.waitFor();
    expect(await row.textContent()).toMatch(/fp32 · [\d.]+ MiB/);
    // The generation selector lists it (and the page selected it after the install).
    expect(await page.inputValue('select[name=model]')).toBe(`${ID}@fp32`);

    // Re-verify reports every file intact.
    await row.locator('button.verify').click();
    await page.waitForFunction((id) => /OK: \d+ files/.test(document.querySelector(`.installed-model[data-model="${id}"] .verify-result`)?.textContent ?? ''), `${ID}@fp32`);

    // Generate through the form on WASM with the installed model.
    await page.fill('textarea[name=prompt]', '1girl, solo');
    await page.selectOption('select[name=size]', 'custom');
    await page.fill('input[name=width]', '256');
    await page.fill('input[name=height]', '256');
    await page.fill('input[name=first_stage_steps]', '4');
    await page.fill('input[name=second_stage_steps]', '4');
    await page.selectOption('select[name=backend]', 'wasm');
    await page.uncheck('input[name=enable_safety_checker]'); // installed models carry no safety checker
    await page.press('textarea[name=prompt]', 'Control+Enter');
    await page.waitForSelector('.card canvas', { timeout: 60_000 });
    const img = await page.evaluate(() => {
      const c = document.querySelector<HTMLCanvasElement>('.card canvas')!;
      const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const distinct = new Set<number>();
      for (let i = 0; i < px.length; i += 4) distinct.add(px[i] * 65536 + px[i + 1] * 256 + px[i + 2]);
      return { w: c.width, h: c.height, distinct: distinct.size, status: document.querySelector('.status')!.textContent, error: document.querySelector<HTMLElement>('form .error')!.hidden ? '' : document.querySelector('form .error')!.textContent };
    });
    console.log(`generated with the installed model: ${JSON.stringify(img)}`);
    expect(img.error).toBe('');
    expect([img.w, img.h]).toEqual([256, 256]);
    expect(img.distinct).toBeGreaterThan(16);
    expect(img.status).toMatch(/Done in [\d.]+ s on wasm/);
    await page.screenshot({ path: '/tmp/sote-models-panel.png', fullPage: true });

    // Export downloads the package as a .tar (imported again below, after the delete).
    const [download] = await Promise.all([page.waitForEvent('download'), row.locator('button.export').click()]);
    expect(download.suggestedFilename()).toBe(`${ID}-fp32.tar`);
    const tarPath = join(root, 'exported.tar');
    await download.saveAs(tarPath);

    // Delete: unlisted, gone from the selector, storage line shows usage before → after.
    await row.locator('button.delete').click();
    await row.waitFor({ state: 'detached', timeout: 30_000 });
    const storage = await page.locator('.models .storage').textContent();
    console.log(`after delete: ${storage}`);
    expect(storage).toMatch(new RegExp(`Deleted ${ID}@fp32: storage used .+ → .+`));
    expect(await page.locator('select[name=model] option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))).not.toContain(`${ID}@fp32`);
    expect(await page.inputValue('select[name=model]')).toBe('tiny-demo');
    expect(await page.locator('.installed').textContent()).toMatch(/None yet/);

    // Import the exported .tar through the file picker: listed again under the same id, then removed.
    await page.setInputFiles('input[name=import]', tarPath);
    await page.locator('.install-progress .install-done', { hasText: 'Imported' }).waitFor({ timeout: 30_000 });
    await row.waitFor();
    await row.locator('button.delete').click();
    await row.waitFor({ state: 'detached', timeout: 30_000 });
  });

  it('Cancel keeps finished files; after a reload the unfinished install shows Resume and completes without re-fetching them', async () => {
    onTestFailed(() => browser?.printLogs('browser log (page)'));
    const page = browser!.page;
    const stageC = FILE_NAMES.stage_c;
    // Stage C's connection drops after 1000 bytes: the install keeps retrying it (with back-off) while the
    // other files finish and convert — the moment to press Cancel.
    cut = (path) => (path.endsWith(stageC) ? 1000 : undefined);
    hub!.resetCounters();
    const url = `${hub!.origin}/tiny-resume.json`;
    await page.goto(`${vite!.origin}/?hub=${encodeURIComponent(hub!.origin)}&model=${encodeURIComponent(url)}`);
    const entry = page.locator('.catalogue .entry[data-model="tiny-resume"]');
    await entry.waitFor({ timeout: 30_000 });
    await entry.locator('button.install').click();
    await page.locator('.install-progress .stage-text', { hasText: 'Retrying' }).waitFor({ timeout: 30_000 });
    await page.click('button.cancel-install');
    await page.locator('.install-progress', { hasText: 'Install cancelled' }).waitFor({ timeout: 30_000 });
    await page.locator('.pending-install[data-model="tiny-resume@fp32"] button.resume').waitFor();
    const servedFirst = Object.fromEntries(files.map((f) => [f.path, hub!.bytesServed(`/${REPO}/resolve/${REVISION}/${f.path}`)]));

    cut = undefined;
    await page.reload();
    const resume = page.locator('.pending-install[data-model="tiny-resume@fp32"] button.resume');
    await resume.waitFor({ timeout: 30_000 });
    await page.locator('.catalogue .entry[data-model="tiny-resume"] button.install', { hasText: 'Resume' }).waitFor();
    hub!.resetCounters();
    await resume.click();
    await page.locator('.install-progress .install-done').waitFor({ timeout: 60_000 });
    const servedSecond = Object.fromEntries(files.map((f) => [f.path, hub!.bytesServed(`/${REPO}/resolve/${REVISION}/${f.path}`)]));
    console.log(`resume: first attempt served ${JSON.stringify(servedFirst)}; after Resume ${JSON.stringify(servedSecond)}`);
    for (const f of files) {
      if (f.path === stageC) expect(servedSecond[f.path]).toBe(f.bytes.length);
      else if (servedFirst[f.path] >= f.bytes.length) expect(servedSecond[f.path]).toBe(0);
    }
    await page.locator('.installed-model[data-model="tiny-resume@fp32"]').waitFor();
    expect(await page.locator('.pending-install').count()).toBe(0);
    await page.locator('.installed-model[data-model="tiny-resume@fp32"] button.delete').click();
    await page.locator('.installed-model[data-model="tiny-resume@fp32"]').waitFor({ state: 'detached' });
  });
});
