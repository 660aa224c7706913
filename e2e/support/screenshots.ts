/**
 * Screenshots that are checked, not just taken: every shot is written to one temp folder (kept after the run, so
 * a human can look; SOTE_SCREENSHOT_DIR overrides the folder), decoded in Node with fast-png, and asserted to
 * have the expected pixel size and not to be blank (enough distinct colours and a non-trivial luminance spread).
 * One line per shot is printed: path, size, distinct colours, luminance standard deviation.
 *
 * Also: the same statistics for a canvas inside the page (gallery images, the full-size dialog), and for image
 * bytes (downloads).
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import type { Locator, Page } from 'playwright-core';
import { expect } from 'vitest';

export interface PixelStats {
  width: number;
  height: number;
  /** Distinct RGB colours (alpha ignored). */
  distinct: number;
  /** Standard deviation of the luminance (0–255). */
  stdev: number;
}

/** Statistics of 8-bit RGB(A) pixels, `channels` bytes per pixel. */
export function pixelStats(width: number, height: number, px: ArrayLike<number>, channels: number): PixelStats {
  const distinct = new Set<number>();
  let sum = 0;
  let sumSq = 0;
  const n = width * height;
  for (let i = 0; i < n; i++) {
    const o = i * channels;
    const r = px[o];
    const g = channels >= 3 ? px[o + 1] : r;
    const b = channels >= 3 ? px[o + 2] : r;
    distinct.add((r << 16) | (g << 8) | b);
    const y = 0.299 * r + 0.587 * g + 0.114 * b;
    sum += y;
    sumSq += y * y;
  }
  const mean = sum / n;
  return { width, height, distinct: distinct.size, stdev: Math.sqrt(Math.max(0, sumSq / n - mean * mean)) };
}

/** Decodes PNG bytes (8-bit; grey, grey+alpha, RGB or RGBA) and returns their statistics. */
export function pngStats(bytes: Uint8Array): PixelStats {
  const img = decode(bytes);
  if (img.depth !== 8) throw new Error(`expected an 8-bit PNG, got depth ${img.depth}`);
  return pixelStats(img.width, img.height, img.data, img.channels);
}

let dirPromise: Promise<string> | undefined;

/** The folder the shots of this run go to (created once per test file process). */
export function screenshotDir(): Promise<string> {
  dirPromise ??= (async () => {
    const fixed = process.env.SOTE_SCREENSHOT_DIR;
    if (fixed) {
      await mkdir(fixed, { recursive: true });
      return fixed;
    }
    return mkdtemp(join(tmpdir(), 'sote-ui-shots-'));
  })();
  return dirPromise;
}

export interface ShotExpectation {
  /** Expected pixel size; defaults: the viewport for a page, the element's box for a locator (±1 px for elements). */
  width?: number;
  height?: number;
  /** Minimum distinct colours (default 16: a blank page has 1, a page of text has hundreds). */
  minColours?: number;
  /** Minimum luminance standard deviation (default 4). */
  minStdev?: number;
}

/**
 * Takes a screenshot of the page's viewport or of one element, saves it as `<dir>/<name>.png`, decodes it and
 * asserts its size and that it is not blank. Returns its statistics and path.
 */
export async function checkedScreenshot(target: Page | Locator, name: string, expected: ShotExpectation = {}): Promise<PixelStats & { path: string }> {
  const dir = await screenshotDir();
  const path = join(dir, `${name.replace(/[^\w.-]+/g, '_')}.png`);
  const isPage = 'viewportSize' in target;
  let wantW = expected.width;
  let wantH = expected.height;
  let tolerance = 0;
  if (isPage) {
    const vp = (target as Page).viewportSize();
    if (!vp) throw new Error('the page has no fixed viewport size: set one before taking checked screenshots');
    wantW ??= vp.width;
    wantH ??= vp.height;
  } else {
    // Element boxes can sit at fractional positions: the screenshot then covers one more row or column.
    tolerance = 1;
    if (wantW === undefined || wantH === undefined) {
      const box = await (target as Locator).boundingBox();
      if (!box) throw new Error(`${name}: the element is not visible`);
      wantW ??= box.width;
      wantH ??= box.height;
    }
  }
  const bytes = isPage
    ? await (target as Page).screenshot({ animations: 'disabled' })
    : await (target as Locator).screenshot({ animations: 'disabled' });
  await writeFile(path, bytes);
  const stats = pngStats(new Uint8Array(bytes));
  console.log(`screenshot ${path}: ${stats.width}×${stats.height}, ${stats.distinct} distinct colours, luminance σ ${stats.stdev.toFixed(1)}`);
  expect(Math.abs(stats.width - wantW!), `${name} width ${stats.width} vs ${wantW}`).toBeLessThanOrEqual(tolerance);
  expect(Math.abs(stats.height - wantH!), `${name} height ${stats.height} vs ${wantH}`).toBeLessThanOrEqual(tolerance);
  expect(stats.distinct, `${name}: distinct colours`).toBeGreaterThan(expected.minColours ?? 16);
  expect(stats.stdev, `${name}: luminance spread`).toBeGreaterThan(expected.minStdev ?? 4);
  return { ...stats, path };
}

/** Size and pixel statistics of the canvas matched by `selector` (index `nth`), read inside the page. */
export async function canvasStats(page: Page, selector: string, nth = 0): Promise<PixelStats> {
  return page.evaluate(({ selector, nth }) => {
    const c = document.querySelectorAll<HTMLCanvasElement>(selector)[nth];
    if (!c) throw new Error(`no canvas matches ${selector} [${nth}]`);
    const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const distinct = new Set<number>();
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < px.length; i += 4) {
      distinct.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
      const y = 0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2];
      sum += y;
      sumSq += y * y;
    }
    const n = c.width * c.height;
    const mean = sum / n;
    return { width: c.width, height: c.height, distinct: distinct.size, stdev: Math.sqrt(Math.max(0, sumSq / n - mean * mean)) };
  }, { selector, nth });
}

/** Asserts a generated image (canvas) has the requested size and is not blank; prints one line. */
export async function expectGeneratedCanvas(page: Page, selector: string, nth: number, width: number, height: number): Promise<PixelStats> {
  const stats = await canvasStats(page, selector, nth);
  console.log(`canvas ${selector} [${nth}]: ${stats.width}×${stats.height}, ${stats.distinct} distinct colours, luminance σ ${stats.stdev.toFixed(1)}`);
  expect([stats.width, stats.height]).toEqual([width, height]);
  // The demo model's images are coloured noise: thousands of colours. A blank or black canvas has one.
  expect(stats.distinct).toBeGreaterThan(100);
  expect(stats.stdev).toBeGreaterThan(2);
  return stats;
}
