/**
 * The live Stage C preview on the generator page (demo model, WASM): hidden before the first generation, shown
 * after each Stage C step while the generation runs (label "Stage C preview, step i/N", canvas at latent size),
 * still there with the last step when the image lands in the gallery, and hidden again when the next
 * generation resets the progress panel.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { launchBrowser, type BrowserSession } from './support/browser.ts';
import { startViteServer, type RunningVite } from './support/server.ts';

interface Observation {
  hidden: boolean;
  label: string;
  canvas: [number, number];
  /** Gallery cards present when this was observed. */
  cards: number;
}

declare global {
  interface Window {
    __previewLog?: Observation[];
  }
}

const STEPS = 4;

describe('Stage C preview on the generator page', () => {
  let vite: RunningVite | undefined;
  let browser: BrowserSession | undefined;

  beforeAll(async () => {
    vite = await startViteServer();
    browser = await launchBrowser();
    await browser.page.setViewportSize({ width: 1280, height: 800 });
    await browser.page.goto(`${vite.origin}/`);
  });
  afterAll(async () => {
    await browser?.close();
    await vite?.stop();
  });

  it('shows the preview after every Stage C step, keeps the last one, and hides it on the next reset', async () => {
    onTestFailed(() => browser?.printLogs('browser log (page)'));
    const page = browser!.page;
    await page.fill('textarea[name=prompt]', '1girl, solo, smile');
    await page.selectOption('select[name=size]', 'custom');
    await page.fill('input[name=width]', '256');
    await page.fill('input[name=height]', '384');
    await page.fill('input[name=first_stage_steps]', String(STEPS));
    await page.fill('input[name=second_stage_steps]', '4');
    await page.selectOption('select[name=backend]', 'wasm');
    await page.check('input[name=seedLocked]');
    await page.fill('input[name=seed]', '42');
    // Hidden (and empty) before anything ran.
    expect(await page.locator('figure.preview').isHidden()).toBe(true);

    // Every change of the preview's visibility or label, with what the gallery held at that moment.
    const record = () => page.evaluate(() => {
      const figure = document.querySelector<HTMLElement>('figure.preview')!;
      const log: Observation[] = [];
      window.__previewLog = log;
      new MutationObserver(() => {
        const c = figure.querySelector('canvas')!;
        log.push({
          hidden: figure.hidden,
          label: figure.querySelector('figcaption')!.textContent ?? '',
          canvas: [c.width, c.height],
          cards: document.querySelectorAll('.gallery .card').length,
        });
      }).observe(figure, { attributes: true, attributeFilter: ['hidden'], childList: true, subtree: true, characterData: true });
    });
    const steps = (log: Observation[]) => log.filter((o) => !o.hidden && o.label).map((o) => Number(/step (\d+)\//.exec(o.label)?.[1]));

    await record();
    await page.press('textarea[name=prompt]', 'Control+Enter');
    await page.waitForSelector('.gallery .card canvas', { timeout: 60_000 });
    await page.waitForFunction(() => /^Done in/.test(document.querySelector('.progress .status')?.textContent ?? ''), undefined, { timeout: 60_000 });
    const first = await page.evaluate(() => window.__previewLog!);
    console.log(`preview observations: ${first.map((o) => `${o.hidden ? 'hidden' : o.label} [${o.canvas.join('×')}] cards=${o.cards}`).join(' | ')}`);
    // One preview per Stage C step, in order, all while the gallery was still empty (i.e. during the generation).
    expect([...new Set(steps(first))]).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
    const shown = first.filter((o) => !o.hidden && o.label);
    for (const o of shown) {
      expect(o.cards).toBe(0);
      expect(o.label).toMatch(new RegExp(`^Stage C preview, step \\d+/${STEPS}\\b`));
    }

    // After the generation: the last step's preview stays, at the Stage C latent size of 256×384 (6×9).
    const after = await page.evaluate(() => {
      const figure = document.querySelector<HTMLElement>('figure.preview')!;
      const c = figure.querySelector('canvas')!;
      const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const distinct = new Set<number>();
      for (let i = 0; i < px.length; i += 4) distinct.add(px[i] * 65536 + px[i + 1] * 256 + px[i + 2]);
      const box = c.getBoundingClientRect();
      return { hidden: figure.hidden, label: figure.querySelector('figcaption')!.textContent, w: c.width, h: c.height, distinct: distinct.size, shownHeight: box.height };
    });
    console.log(`preview after: ${after.label}, ${after.w}×${after.h}, ${after.distinct} distinct colours, shown ${after.shownHeight}px tall`);
    expect(after.hidden).toBe(false);
    expect(after.label).toContain(`Stage C preview, step ${STEPS}/${STEPS}`);
    expect([after.w, after.h]).toEqual([6, 9]);
    expect(after.distinct).toBeGreaterThan(8);
    expect(after.shownHeight).toBeGreaterThan(100); // scaled up for the eye
    await page.locator('.progress').screenshot({ path: '/tmp/sote-preview.png' });

    // The next generation resets the panel: the old preview disappears before the new step 1 appears.
    await record();
    await page.click('button.primary[type=submit]');
    await page.waitForFunction(() => document.querySelectorAll('.gallery .card').length === 2, undefined, { timeout: 60_000 });
    const second = await page.evaluate(() => window.__previewLog!);
    const firstHidden = second.findIndex((o) => o.hidden);
    const firstShown = second.findIndex((o) => !o.hidden && /step 1\//.test(o.label));
    expect(firstHidden).toBeGreaterThanOrEqual(0);
    expect(firstShown).toBeGreaterThan(firstHidden);
    expect([...new Set(steps(second))]).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
  });
});
