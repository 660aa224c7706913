/**
 * Driving the generator page (src/ui) from browser tests: its form fields by name, the Generate/Cancel buttons,
 * the progress status and the gallery cards, plus "fill the form for a fast demo-model generation" and "generate
 * and wait for the new cards". Selectors follow src/ui/main.ts; the page is served by the project's Vite server.
 */
import type { Page } from 'playwright-core';
import { expect } from 'vitest';

/** The hosted endpoint's bounds (docs/api-contract.md §2), written out here so the tests check the page. */
export const CONTRACT = {
  first_stage_steps: { default: 25, min: 4, max: 50 },
  second_stage_steps: { default: 10, min: 4, max: 24 },
  guidance_scale: { default: 8, min: 0, max: 20 },
  second_stage_guidance_scale: { default: 2, min: 0, max: 20 },
  num_images: { default: 1, min: 1, max: 4 },
  seed: { min: 0, max: 2 ** 32 - 1 },
  side: { min: 256, max: 4096 },
  image_size: { width: 1024, height: 1536 },
  presets: {
    square_hd: [1024, 1024],
    square: [512, 512],
    portrait_4_3: [768, 1024],
    portrait_16_9: [576, 1024],
    landscape_4_3: [1024, 768],
    landscape_16_9: [1024, 576],
  } as Record<string, [number, number]>,
} as const;

/** SoteDiffusion's recommended tags (docs/api-contract.md §4). */
export const QUALITY_PREFIX = 'newest, extremely aesthetic, best quality, ';
export const RECOMMENDED_NEGATIVE = 'very displeasing, worst quality, monochrome, realistic, oldest';

export const sel = {
  prompt: 'textarea[name=prompt]',
  negative: 'textarea[name=negative_prompt]',
  size: 'select[name=size]',
  width: 'input[name=width]',
  height: 'input[name=height]',
  seed: 'input[name=seed]',
  seedLocked: 'input[name=seedLocked]',
  numImages: 'input[name=num_images]',
  backend: 'select[name=backend]',
  safety: 'input[name=enable_safety_checker]',
  generate: 'button.primary[type=submit]',
  /** The generation Cancel button sits right after Generate (the Models panel has its own Cancel). */
  cancel: 'button.primary[type=submit] + button',
  status: '.progress .status',
  alert: 'form .error[role=alert]',
  card: '.gallery .card',
  cardCanvas: '.gallery .card canvas',
} as const;

export interface FastSettings {
  prompt?: string;
  width?: number;
  height?: number;
  steps?: number;
  seed?: number;
  numImages?: number;
}

/**
 * Fills the form for a fast demo generation: custom size (256×256 by default), the minimum steps (4/4), WASM,
 * and, when `seed` is given, that seed locked.
 */
export async function fillFast(page: Page, s: FastSettings = {}): Promise<void> {
  await page.fill(sel.prompt, s.prompt ?? '1girl, solo, smile');
  await page.selectOption(sel.size, 'custom');
  await page.fill(sel.width, String(s.width ?? 256));
  await page.fill(sel.height, String(s.height ?? 256));
  await page.fill('input[name=first_stage_steps]', String(s.steps ?? 4));
  await page.fill('input[name=second_stage_steps]', String(s.steps ?? 4));
  await page.fill(sel.numImages, String(s.numImages ?? 1));
  await page.selectOption(sel.backend, 'wasm');
  if (s.seed !== undefined) {
    await page.check(sel.seedLocked);
    await page.fill(sel.seed, String(s.seed));
  }
}

export const cardCount = (page: Page) => page.locator(sel.card).count();

/**
 * Runs `trigger` (a click or a key press that should start a generation) and waits until `expectedCards` new
 * cards are in the gallery and the status says Done. Returns the status text.
 */
export async function generateAndWait(page: Page, trigger: () => Promise<void>, expectedCards = 1, timeout = 60_000): Promise<string> {
  const before = await cardCount(page);
  await trigger();
  await page.waitForFunction(
    ({ card, n, alert }) => document.querySelectorAll(card).length >= n || !document.querySelector<HTMLElement>(alert)!.hidden,
    { card: sel.card, n: before + expectedCards, alert: sel.alert },
    { timeout },
  );
  const alert = page.locator(sel.alert);
  if (await alert.isVisible()) throw new Error(`the page showed an error instead of an image: ${await alert.innerText()}`);
  expect(await cardCount(page)).toBe(before + expectedCards);
  const status = (await page.textContent(sel.status)) ?? '';
  expect(status).toMatch(/^Done in [\d.]+ s on wasm/);
  return status;
}

/** The text of the field `name` (label text + hint + its field error; src/ui/main.ts field()). */
export async function fieldLabelText(page: Page, name: string): Promise<string> {
  return page.locator(`.field:has(> [name="${name}"])`).innerText();
}
