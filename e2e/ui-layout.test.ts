/**
 * The generator page is usable at a desktop size (1280×800) and at phone width (390×844): no horizontal scroll,
 * the prompt and the Generate button visible and reachable, and a generation works from a click, with the
 * image fitting the screen. Every state is screenshotted and checked (size, not blank).
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { Page } from 'playwright-core';
import { launchBrowser, type BrowserSession } from './support/browser.ts';
import { fillFast, generateAndWait, sel } from './support/generator-page.ts';
import { checkedScreenshot, expectGeneratedCanvas, pngStats } from './support/screenshots.ts';
import { startViteServer, type RunningVite } from './support/server.ts';

/** Elements whose box sticks out to the right of the viewport (to say what overflows when the test fails). */
function overflowing(page: Page): Promise<string[]> {
  return page.evaluate(() => [...document.querySelectorAll<HTMLElement>('body *')]
    .filter((el) => el.getBoundingClientRect().right > innerWidth + 0.5 && el.getClientRects().length > 0)
    .slice(0, 12)
    .map((el) => `${el.tagName.toLowerCase()}${el.className ? `.${String(el.className).replace(/\s+/g, '.')}` : ''}${el.getAttribute('name') ? `[name=${el.getAttribute('name')}]` : ''} right=${Math.round(el.getBoundingClientRect().right)}`));
}

async function expectNoHorizontalScroll(page: Page): Promise<void> {
  const { scrollWidth, viewportWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, viewportWidth: window.innerWidth }));
  expect(scrollWidth, `scrollWidth ${scrollWidth} > innerWidth ${viewportWidth}; overflowing: ${(await overflowing(page)).join(', ')}`)
    .toBeLessThanOrEqual(viewportWidth);
}

/** The element is displayed and, scrolled to, lies entirely inside the viewport. */
async function expectReachable(page: Page, selector: string): Promise<void> {
  const el = page.locator(selector);
  expect(await el.isVisible(), `${selector} visible`).toBe(true);
  await el.scrollIntoViewIfNeeded();
  const box = (await el.boundingBox())!;
  const vp = page.viewportSize()!;
  expect(box.x, `${selector} left edge`).toBeGreaterThanOrEqual(0);
  expect(box.x + box.width, `${selector} right edge`).toBeLessThanOrEqual(vp.width);
  expect(box.y, `${selector} top edge`).toBeGreaterThanOrEqual(0);
  expect(box.y + box.height, `${selector} bottom edge`).toBeLessThanOrEqual(vp.height);
  expect(box.width, `${selector} width`).toBeGreaterThan(40);
}

describe('generator page layout', () => {
  let vite: RunningVite | undefined;
  let browser: BrowserSession | undefined;

  beforeAll(async () => {
    vite = await startViteServer();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await vite?.stop();
  });

  for (const [label, width, height] of [['desktop', 1280, 800], ['phone', 390, 844]] as const) {
    it(`${label} ${width}×${height}: no horizontal scroll, prompt and Generate reachable, a generation works`, async () => {
      onTestFailed(() => browser?.printLogs(`browser log (${label})`));
      const page = browser!.page;
      await page.setViewportSize({ width, height });
      await page.goto(`${vite!.origin}/`);
      await page.waitForSelector(sel.generate);
      await page.waitForSelector('.models .catalogue *'); // the Models panel has rendered its catalogue
      await expectNoHorizontalScroll(page);

      // The prompt is on the first screen, without scrolling.
      const prompt = (await page.locator(sel.prompt).boundingBox())!;
      expect(prompt.y + prompt.height).toBeLessThanOrEqual(height);
      expect(prompt.x + prompt.width).toBeLessThanOrEqual(width);
      await checkedScreenshot(page, `layout-${label}-first-screen`);
      // The whole page is as wide as the viewport.
      const full = pngStats(new Uint8Array(await page.screenshot({ fullPage: true })));
      console.log(`full-page screenshot (${label}): ${full.width}×${full.height}`);
      expect(full.width).toBe(width);

      await fillFast(page, { prompt: `${label} layout, 1girl`, seed: 7 });
      await expectNoHorizontalScroll(page);
      for (const s of [sel.prompt, sel.negative, sel.size, sel.seed, sel.backend, 'select[name=model]', sel.generate, sel.cancel]) await expectReachable(page, s);
      await checkedScreenshot(page, `layout-${label}-generate-button`);

      await generateAndWait(page, () => page.click(sel.generate));
      await expectGeneratedCanvas(page, sel.cardCanvas, 0, 256, 256);
      await expectNoHorizontalScroll(page);
      const card = page.locator(sel.card).first();
      await card.scrollIntoViewIfNeeded();
      const box = (await card.boundingBox())!;
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(width);
      // The card's buttons are on screen too.
      for (const name of ['PNG', 'JPEG', 'Delete']) await expectReachable(page, `${sel.card} >> nth=0 >> button:has-text("${name}")`);
      await checkedScreenshot(page, `layout-${label}-after-generation`);
      await checkedScreenshot(card, `layout-${label}-card`, { minColours: 100 });

      // The progress panel fits as well.
      await page.locator('.progress').scrollIntoViewIfNeeded();
      const progressBox = (await page.locator('.progress').boundingBox())!;
      expect(progressBox.x + progressBox.width).toBeLessThanOrEqual(width);
      await checkedScreenshot(page.locator('.progress'), `layout-${label}-progress`);

      // Clean up for the next viewport: delete the image from the history.
      await card.locator('button:has-text("Delete")').click();
      await page.waitForFunction((s) => !document.querySelector(s), sel.card);
    });
  }
});
