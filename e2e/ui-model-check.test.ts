/**
 * "Test on this device" in the Models panel, end to end: the tiny model is installed from a local hub (the
 * store-ui setup: support/hub-fixture.ts), then its row's button runs the check in the page's worker on WASM and
 * on WebGPU (SwiftShader) — every network's session created, the fixed test latent decoded through Stage A — and
 * the row shows live progress, then one line (backend, residency, four per-network session times, decode,
 * "finite"). A generation through the form still works after each check.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { launchBrowser, type BrowserSession } from './support/browser.ts';
import { buildFixture, descriptor, publish } from './support/hub-fixture.ts';
import { startStaticServer, startViteServer, type RunningVite, type StaticServer } from './support/server.ts';

const REPO = 'test/tiny-check';
const ID = 'tiny-check';
const MODEL = `${ID}@fp32`;

/**
 * backend · residency · sessions: text encoder N ms, Stage C N ms…, Stage B …, Stage A … · decode 256×256 in N ms ·
 * finite (N colours); times of 10 s and more read "N.N s" (SwiftShader's decode takes about that long).
 */
const RESULT_LINE = (backend: string) => new RegExp(
  `^${backend} · residency (all|sequential) · sessions: text encoder [\\d.]+ m?s[^,]*, Stage C [\\d.]+ m?s[^,]*, Stage B [\\d.]+ m?s[^,]*, ` +
  'Stage A [\\d.]+ m?s[^·]* · decode 256×256 in [\\d.]+ m?s · finite \\((\\d+) colours\\)$');

describe('Models panel: Test on this device', () => {
  let vite: RunningVite | undefined;
  let hub: StaticServer | undefined;
  let browser: BrowserSession | undefined;
  let root = '';
  const page = () => browser!.page;
  const row = () => page().locator(`.installed-model[data-model="${MODEL}"]`);

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'sote-model-check-hub-'));
    const files = await buildFixture();
    await publish(root, REPO, files);
    hub = await startStaticServer(root);
    await writeFile(join(root, `${ID}.json`), JSON.stringify(descriptor('https://hub.invalid', REPO, ID, files)));
    vite = await startViteServer();
    browser = await launchBrowser();
    await page().setViewportSize({ width: 1280, height: 900 });
  });

  afterAll(async () => {
    await browser?.close();
    await vite?.stop();
    await hub?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** Clicks the row's button; returns every text the result element showed, in order, and the final one. */
  async function runCheck(): Promise<{ seen: string[]; line: string }> {
    await page().evaluate((id) => {
      const seen: string[] = [];
      (window as unknown as { checkTexts: string[] }).checkTexts = seen;
      const target = document.querySelector(`.installed-model[data-model="${id}"]`)!;
      new MutationObserver(() => {
        const text = target.querySelector('.check-result')?.textContent ?? '';
        if (text && seen.at(-1) !== text) seen.push(text);
      }).observe(target, { subtree: true, childList: true, characterData: true });
    }, MODEL);
    await row().locator('button.check').click();
    await page().waitForFunction((id) => document.querySelector(`.installed-model[data-model="${id}"] .check-result`)?.getAttribute('data-done'), MODEL, { timeout: 120_000 });
    const line = (await row().locator('.check-result').textContent()) ?? '';
    const seen = await page().evaluate(() => (window as unknown as { checkTexts: string[] }).checkTexts);
    return { seen, line };
  }

  /** One 256×256, 4 + 4-step generation through the form; returns the status line. */
  async function generate(cards: number): Promise<string> {
    const p = page();
    await p.fill('textarea[name=prompt]', '1girl, solo');
    await p.selectOption('select[name=size]', 'custom');
    await p.fill('input[name=width]', '256');
    await p.fill('input[name=height]', '256');
    await p.fill('input[name=first_stage_steps]', '4');
    await p.fill('input[name=second_stage_steps]', '4');
    await p.press('textarea[name=prompt]', 'Control+Enter');
    await p.waitForFunction((n) => document.querySelectorAll('.card canvas').length >= n, cards, { timeout: 180_000 });
    return (await p.locator('.status').textContent()) ?? '';
  }

  it('installs the tiny model; on WASM the check shows progress, then a finite 256×256 decode and four session times; a generation works after it', async () => {
    onTestFailed(() => browser?.printLogs('browser log (page)'));
    const p = page();
    await p.goto(`${vite!.origin}/?hub=${encodeURIComponent(hub!.origin)}&model=${encodeURIComponent(`${hub!.origin}/${ID}.json`)}`);
    const entry = p.locator(`.catalogue .entry[data-model="${ID}"]`);
    await entry.waitFor({ timeout: 60_000 });
    await entry.locator('button.install').click();
    // Done, or the panel's error box (fails at once with its text instead of timing out).
    await p.locator('.install-progress .install-done, .models .error:visible').first().waitFor({ timeout: 120_000 });
    expect(await p.locator('.models .error').isHidden(), await p.locator('.models .error').textContent() ?? '').toBe(true);
    await row().waitFor();
    expect(await row().locator('button.check').textContent()).toBe('Test on this device');
    expect(await p.inputValue('select[name=model]')).toBe(MODEL);
    await p.uncheck('input[name=enable_safety_checker]'); // the fixture has no safety checker

    await p.selectOption('select[name=backend]', 'wasm');
    const { seen, line } = await runCheck();
    console.log(`wasm check: progress ${JSON.stringify(seen)}; result ${line}`);
    // Live progress before the result: the model load (a fresh worker) and the decode.
    expect(seen.some((t) => /^loading (the model|text encoder|Stage [CBA])…$/.test(t))).toBe(true);
    expect(seen).toContain('decoding the test latent through Stage A…');
    expect(seen.at(-1)).toBe(line);
    const match = RESULT_LINE('wasm').exec(line);
    expect(match, line).not.toBeNull();
    expect(Number(match![2])).toBeGreaterThan(16);
    expect(await row().locator('.check-result').getAttribute('data-done')).toBe('ok');
    expect(await row().locator('.check-result').evaluate((e) => e.classList.contains('bad'))).toBe(false);
    expect(await p.locator('.models .error').isHidden()).toBe(true);

    const status = await generate(1);
    expect(status).toMatch(/Done in [\d.]+ s on wasm/);
    expect(await p.locator('form .error').isHidden()).toBe(true);

    // Checked again, the model the generation used is reused as it is (same load request): no load, every
    // session already exists ("already loaded").
    const again = await runCheck();
    console.log(`wasm check again: progress ${JSON.stringify(again.seen)}; result ${again.line}`);
    expect(again.seen.filter((t) => t.startsWith('loading'))).toEqual([]);
    expect(RESULT_LINE('wasm').exec(again.line)?.[2]).toBe(match![2]);
    expect(again.line.match(/ m?s \(\d graphs\) \(already loaded\)| m?s \(already loaded\)/g)).toHaveLength(4);
  });

  it('on WebGPU (SwiftShader) the check reloads the model there and decodes finite; a generation works after it', async () => {
    onTestFailed(() => browser?.printLogs('browser log (page)'));
    const p = page();
    await p.selectOption('select[name=backend]', 'webgpu');
    const { seen, line } = await runCheck();
    console.log(`webgpu check: progress ${JSON.stringify(seen)}; result ${line}`);
    expect(seen).toContain('starting on webgpu…');
    const match = RESULT_LINE('webgpu').exec(line);
    expect(match, line).not.toBeNull();
    expect(Number(match![2])).toBeGreaterThan(16);
    expect(await p.locator('.models .error').isHidden()).toBe(true);

    const status = await generate(2);
    expect(status).toMatch(/Done in [\d.]+ s on webgpu/);
    expect(await p.locator('form .error').isHidden()).toBe(true);
  });
});
