/**
 * Every UI path of the generator page, end to end on the tiny demo model (WASM), each with a screenshot that is
 * decoded and checked (right size, not blank): schema inputs with defaults, bounds and field errors; the
 * tag-prefix chips; size presets and custom size; seed randomize/lock; Ctrl/Cmd+Enter; per-stage progress;
 * num_images; the full-size view; PNG (with its parameters chunk) and JPEG downloads; dropping the PNG back;
 * copy-as-code; cancel; history across a reload and delete.
 *
 * The tests run in order on one page and build on each other (the gallery fills up as they go).
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { readPngParameters } from '../src/client/image-files.ts';
import { launchBrowser, type BrowserSession } from './support/browser.ts';
import {
  cardCount, CONTRACT, fieldLabelText, fillFast, generateAndWait, QUALITY_PREFIX, RECOMMENDED_NEGATIVE, sel,
} from './support/generator-page.ts';
import { checkedScreenshot, expectGeneratedCanvas, pngStats } from './support/screenshots.ts';
import { startViteServer, type RunningVite } from './support/server.ts';

/** Width and height of a baseline or progressive JPEG, from its SOF marker. */
function jpegSize(bytes: Uint8Array): { width: number; height: number } {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) throw new Error('not a JPEG (no SOI marker)');
  let i = 2;
  while (i + 9 < bytes.length) {
    if (bytes[i] !== 0xff) throw new Error(`bad JPEG marker at ${i}`);
    const marker = bytes[i + 1];
    const len = (bytes[i + 2] << 8) | bytes[i + 3];
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: (bytes[i + 5] << 8) | bytes[i + 6], width: (bytes[i + 7] << 8) | bytes[i + 8] };
    }
    i += 2 + len;
  }
  throw new Error('no SOF marker in the JPEG');
}

describe('generator page: every UI path', () => {
  let vite: RunningVite | undefined;
  let browser: BrowserSession | undefined;
  const page = () => browser!.page;
  /** The PNG downloaded from the seed-42 image (the drop test puts it back). */
  let downloadedPng: Uint8Array | undefined;

  beforeAll(async () => {
    vite = await startViteServer();
    browser = await launchBrowser();
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: vite.origin });
    await page().setViewportSize({ width: 1280, height: 800 });
    await page().goto(`${vite.origin}/`);
    await page().waitForSelector(sel.generate);
  });
  afterAll(async () => {
    await browser?.close();
    await vite?.stop();
  });

  const logOnFailure = () => onTestFailed(() => browser?.printLogs('browser log (page)'));

  it('shows every schema input with the hosted default and bounds, and offers (does not force) the tag prefixes', async () => {
    logOnFailure();
    const p = page();
    for (const name of ['first_stage_steps', 'second_stage_steps', 'guidance_scale', 'second_stage_guidance_scale', 'num_images'] as const) {
      const el = p.locator(`input[name=${name}]`);
      const want = CONTRACT[name];
      expect({ name, value: Number(await el.inputValue()), min: Number(await el.getAttribute('min')), max: Number(await el.getAttribute('max')) })
        .toEqual({ name, value: want.default, min: want.min, max: want.max });
    }
    // image_size: default custom 1024×1536, custom sides 256–4096, and every preset with its size.
    expect(await p.inputValue(sel.size)).toBe('custom');
    expect([Number(await p.inputValue(sel.width)), Number(await p.inputValue(sel.height))]).toEqual([CONTRACT.image_size.width, CONTRACT.image_size.height]);
    for (const side of [sel.width, sel.height]) {
      expect([Number(await p.getAttribute(side, 'min')), Number(await p.getAttribute(side, 'max'))]).toEqual([CONTRACT.side.min, CONTRACT.side.max]);
    }
    const options = await p.locator(`${sel.size} option`).allTextContents();
    for (const [preset, [w, hgt]] of Object.entries(CONTRACT.presets)) expect(options).toContain(`${preset} (${w}×${hgt})`);
    expect(options).toContain('custom');
    // seed: random, an integer in 0 … 2^32−1, not locked; the other inputs' defaults.
    const seed = Number(await p.inputValue(sel.seed));
    expect(Number.isInteger(seed) && seed >= CONTRACT.seed.min && seed <= CONTRACT.seed.max).toBe(true);
    expect([Number(await p.getAttribute(sel.seed, 'min')), Number(await p.getAttribute(sel.seed, 'max'))]).toEqual([CONTRACT.seed.min, CONTRACT.seed.max]);
    expect(await p.isChecked(sel.seedLocked)).toBe(false);
    expect(await p.isChecked(sel.safety)).toBe(true);
    expect(await p.inputValue(sel.prompt)).toBe('');
    expect(await p.inputValue(sel.negative)).toBe('');
    expect(await p.inputValue(sel.backend)).toBe('auto');
    // The chips are there, and nothing was put into the prompts for the user.
    expect(await p.locator('.chips button').allTextContents()).toEqual(['+ quality tags', 'recommended negative']);
    await checkedScreenshot(p, 'paths-01-fresh-page');
  });

  it('tag chips insert the recommended prefix once and the recommended negative', async () => {
    logOnFailure();
    const p = page();
    await p.fill(sel.prompt, '1girl, solo');
    await p.click('.chips button:has-text("+ quality tags")');
    expect(await p.inputValue(sel.prompt)).toBe(`${QUALITY_PREFIX}1girl, solo`);
    await p.click('.chips button:has-text("+ quality tags")');
    expect(await p.inputValue(sel.prompt)).toBe(`${QUALITY_PREFIX}1girl, solo`); // not doubled
    await p.click('.chips button:has-text("recommended negative")');
    expect(await p.inputValue(sel.negative)).toBe(RECOMMENDED_NEGATIVE);
    await checkedScreenshot(p.locator('form').first(), 'paths-02-chips-form');
  });

  it('an invalid value shows a field error naming the field and blocks generation', async () => {
    logOnFailure();
    const p = page();
    await fillFast(p, { seed: 42 });
    const cases: [name: string, label: string, bad: string, good: string, message: RegExp][] = [
      ['first_stage_steps', 'Stage C steps', '3', '4', /between 4 and 50/],
      ['first_stage_steps', 'Stage C steps', '51', '4', /between 4 and 50/],
      ['first_stage_steps', 'Stage C steps', '4.5', '4', /integer between 4 and 50/],
      ['second_stage_steps', 'Stage B steps', '25', '4', /between 4 and 24/],
      ['guidance_scale', 'Stage C guidance', '20.5', '8', /between 0 and 20/],
      ['guidance_scale', 'Stage C guidance', '-1', '8', /between 0 and 20/],
      ['second_stage_guidance_scale', 'Stage B guidance', '21', '2', /between 0 and 20/],
      ['width', 'Width', '255', '256', /between 256 and 4096/],
      ['height', 'Height', '4097', '256', /between 256 and 4096/],
      ['seed', 'Seed', '4294967296', '42', /between 0 and 4294967295/],
      ['seed', 'Seed', '-1', '42', /between 0 and 4294967295/],
      ['num_images', 'Images', '0', '1', /between 1 and 4/],
      ['num_images', 'Images', '5', '1', /between 1 and 4/],
    ];
    for (const [name, label, bad, good, message] of cases) {
      await p.fill(`[name=${name}]`, bad);
      const fieldText = await fieldLabelText(p, name);
      expect(fieldText, `${name}=${bad}`).toContain(label);
      expect(fieldText, `${name}=${bad}`).toMatch(message);
      await p.click(sel.generate);
      const alert = p.locator(sel.alert);
      expect(await alert.isVisible(), `${name}=${bad}: alert`).toBe(true);
      expect(await alert.innerText()).toMatch(new RegExp(`Some settings need fixing[\\s\\S]*${name} must be`));
      if (name === 'first_stage_steps' && bad === '3') await checkedScreenshot(p, 'paths-03-field-error');
      await p.fill(`[name=${name}]`, good);
      expect(await fieldLabelText(p, name)).not.toMatch(message);
    }
    // An empty prompt is an error too.
    await p.fill(sel.prompt, '   ');
    await p.click(sel.generate);
    expect(await fieldLabelText(p, 'prompt')).toMatch(/enter a prompt/);
    expect(await p.locator(sel.alert).innerText()).toMatch(/prompt enter a prompt/);
    // Nothing ran: the progress panel never appeared (generate() shows it first thing) and there is no image.
    expect(await p.locator('.progress').isHidden()).toBe(true);
    expect(await cardCount(p)).toBe(0);
  });

  it('Ctrl+Enter generates with per-stage progress bars; the image has the requested size; the seed stays locked', async () => {
    logOnFailure();
    const p = page();
    await fillFast(p, { prompt: '1girl, solo', seed: 42 }); // the recommended negative from the chip stays
    // Record every value each stage's bar takes.
    await p.evaluate(() => {
      const seen: Record<string, number[]> = {};
      (window as unknown as { barValues: typeof seen }).barValues = seen;
      document.querySelectorAll('.progress .stage').forEach((stage) => {
        const name = stage.firstElementChild!.textContent!;
        const bar = stage.querySelector('progress')!;
        seen[name] = [];
        new MutationObserver(() => seen[name].push(bar.value)).observe(bar, { attributes: true, attributeFilter: ['value'] });
      });
    });
    const status = await generateAndWait(p, () => p.press(sel.prompt, 'Control+Enter'));
    console.log(`status: ${status}`);
    const bars = await p.evaluate(() => (window as unknown as { barValues: Record<string, number[]> }).barValues);
    console.log(`progress bar values per stage: ${JSON.stringify(bars)}`);
    expect(Object.keys(bars)).toEqual(expect.arrayContaining(['Text', 'Stage C', 'Stage B', 'Stage A']));
    for (const name of ['Text', 'Stage C', 'Stage B', 'Stage A']) expect(bars[name].at(-1), name).toBe(1);
    // Stage C and Stage B moved step by step (4 steps each), not straight from 0 to 1.
    for (const name of ['Stage C', 'Stage B']) expect(bars[name], name).toEqual(expect.arrayContaining([0.25, 0.5, 0.75, 1]));
    const finalBars = await p.$$eval('.progress .stage progress', (els) => els.map((e) => (e as HTMLProgressElement).value));
    expect(finalBars.length).toBeGreaterThanOrEqual(4);
    expect(finalBars.every((v) => v === 1)).toBe(true);
    for (const label of await p.$$eval('.progress .stage > span:last-child', (els) => els.map((e) => e.textContent))) expect(label).toMatch(/\d/);

    await expectGeneratedCanvas(p, sel.cardCanvas, 0, 256, 256);
    const meta = await p.textContent(`${sel.card} .meta`);
    expect(meta).toContain('seed 42 ·');
    expect(meta).toContain('256×256');
    // The prompt was used as typed: the quality prefix is offered, never forced.
    expect(meta).toMatch(/^1girl, solo ·/);
    expect(await p.inputValue(sel.seed)).toBe('42');
    expect(await p.isDisabled(sel.generate)).toBe(false);
    expect(await p.isDisabled(sel.cancel)).toBe(true);
    await checkedScreenshot(p, 'paths-04-generated');
    await checkedScreenshot(p.locator(sel.card).first(), 'paths-04-card', { minColours: 100 });
  });

  it('size presets fill the size fields; Random seed; an unlocked seed is new each time; 2 images make 2 cards (Cmd+Enter)', async () => {
    logOnFailure();
    const p = page();
    // A preset disables the custom fields and shows its own size in them.
    for (const [preset, [w, hgt]] of Object.entries(CONTRACT.presets)) {
      await p.selectOption(sel.size, preset);
      expect(await p.isDisabled(sel.width), preset).toBe(true);
      expect(await p.isDisabled(sel.height), preset).toBe(true);
      expect([Number(await p.inputValue(sel.width)), Number(await p.inputValue(sel.height))], preset).toEqual([w, hgt]);
    }
    // Back to custom: the custom size is still there and editable.
    await p.selectOption(sel.size, 'custom');
    expect(await p.isDisabled(sel.width)).toBe(false);
    expect([await p.inputValue(sel.width), await p.inputValue(sel.height)]).toEqual(['256', '256']);

    // Random seed gives a new in-range integer each click.
    const seeds = new Set<string>();
    for (let i = 0; i < 3; i++) {
      await p.click('button:has-text("Random seed")');
      const s = await p.inputValue(sel.seed);
      expect(Number.isInteger(Number(s)) && Number(s) >= 0 && Number(s) <= CONTRACT.seed.max, s).toBe(true);
      seeds.add(s);
    }
    expect(seeds.size).toBe(3);

    // Unlocked: generating draws a fresh seed; the square preset gives 512×512; two images → two cards.
    await p.fill(sel.seed, '42');
    await p.uncheck(sel.seedLocked);
    await p.selectOption(sel.size, 'square');
    await p.fill(sel.numImages, '2');
    await p.locator('h1').click(); // focus outside the form: the shortcut works from anywhere on the page
    await generateAndWait(p, () => p.keyboard.press('Meta+Enter'), 2);
    const seed = await p.inputValue(sel.seed);
    expect(seed).not.toBe('42');
    const metas = await p.locator(`${sel.card} .meta`).allTextContents();
    expect(metas[0]).toContain(`seed ${seed} ·`);
    expect(metas[1]).toContain(`seed ${seed} ·`);
    expect(metas[2]).toContain('seed 42 ·');
    await expectGeneratedCanvas(p, sel.cardCanvas, 0, 512, 512);
    await expectGeneratedCanvas(p, sel.cardCanvas, 1, 512, 512);
    // The two images of one request differ.
    const [a, b] = await p.$$eval(sel.cardCanvas, (cs) => cs.slice(0, 2).map((c) => (c as HTMLCanvasElement).toDataURL()));
    expect(a).not.toBe(b);
    await checkedScreenshot(p, 'paths-05-two-images');
  });

  it('clicking an image opens a dialog with the full-size canvas', async () => {
    logOnFailure();
    const p = page();
    await p.locator(sel.cardCanvas).nth(0).click();
    const dialog = p.locator('dialog[open]');
    await dialog.waitFor();
    // A modal dialog left open would block every later click: close it even when a check fails.
    onTestFailed(() => p.keyboard.press('Escape'));
    await expectGeneratedCanvas(p, 'dialog[open] canvas', 0, 512, 512);
    // Shown at full size (it fits in 1280×800), larger than the gallery thumbnail.
    const box = (await dialog.locator('canvas').boundingBox())!;
    expect([Math.round(box.width), Math.round(box.height)]).toEqual([512, 512]);
    const thumb = (await p.locator(sel.cardCanvas).nth(0).boundingBox())!;
    expect(thumb.width).toBeLessThan(512);
    await checkedScreenshot(p, 'paths-06-dialog');
    await checkedScreenshot(dialog.locator('canvas'), 'paths-06-dialog-canvas', { width: 512, height: 512, minColours: 100 });
    await dialog.locator('button:has-text("Close")').click();
    await p.waitForFunction(() => !document.querySelector('dialog'));
  });

  it('downloads the PNG with its parameters chunk and the JPEG, both at the generated size', async () => {
    logOnFailure();
    const p = page();
    const card = p.locator(sel.card).filter({ hasText: /seed 42 ·/ }); // not 'seed 42…' of a random seed
    expect(await card.count()).toBe(1);

    const [pngDownload] = await Promise.all([p.waitForEvent('download'), card.locator('button:has-text("PNG")').click()]);
    expect(pngDownload.suggestedFilename()).toBe('sote-42.png');
    const png = new Uint8Array(await readFile((await pngDownload.path())!));
    const stats = pngStats(png);
    console.log(`PNG download: ${png.length} bytes, ${stats.width}×${stats.height}, ${stats.distinct} distinct colours`);
    expect([stats.width, stats.height]).toEqual([256, 256]);
    expect(stats.distinct).toBeGreaterThan(100);
    const params = readPngParameters(png);
    expect(params).toMatchObject({
      prompt: '1girl, solo', negativePrompt: RECOMMENDED_NEGATIVE, steps: 4, cfgScale: 8, seed: '42', width: 256, height: 256,
      model: 'tiny-demo', secondStageSteps: 4, secondStageCfgScale: 2,
    });
    downloadedPng = png;

    const [jpegDownload] = await Promise.all([p.waitForEvent('download'), card.locator('button:has-text("JPEG")').click()]);
    expect(jpegDownload.suggestedFilename()).toBe('sote-42.jpg');
    const jpeg = new Uint8Array(await readFile((await jpegDownload.path())!));
    expect(jpegSize(jpeg)).toEqual({ width: 256, height: 256 });
    // It decodes (in the browser) to the same size and is not blank.
    const decoded = await p.evaluate(async (bytes) => {
      const bitmap = await createImageBitmap(new Blob([new Uint8Array(bytes)], { type: 'image/jpeg' }));
      const c = new OffscreenCanvas(bitmap.width, bitmap.height);
      const ctx = c.getContext('2d')!;
      ctx.drawImage(bitmap, 0, 0);
      const px = ctx.getImageData(0, 0, c.width, c.height).data;
      const distinct = new Set<number>();
      for (let i = 0; i < px.length; i += 4) distinct.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
      return { width: bitmap.width, height: bitmap.height, distinct: distinct.size };
    }, [...jpeg]);
    console.log(`JPEG download: ${jpeg.length} bytes, decodes to ${decoded.width}×${decoded.height}, ${decoded.distinct} distinct colours`);
    expect([decoded.width, decoded.height]).toEqual([256, 256]);
    expect(decoded.distinct).toBeGreaterThan(100);
  });

  it('dropping the downloaded PNG on the page restores its settings; a PNG without parameters is an error with a remedy', async () => {
    logOnFailure();
    const p = page();
    expect(downloadedPng).toBeDefined();
    // Change everything the PNG records.
    await p.fill(sel.prompt, 'something else');
    await p.fill(sel.negative, '');
    await p.selectOption(sel.size, 'portrait_4_3');
    await p.fill('input[name=first_stage_steps]', '20');
    await p.fill('input[name=second_stage_steps]', '12');
    await p.fill('input[name=guidance_scale]', '5');
    await p.uncheck(sel.seedLocked);
    await p.fill(sel.seed, '7');

    const drop = (bytes: Uint8Array, name: string) => p.evaluate(({ bytes, name }) => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(bytes)], name, { type: 'image/png' }));
      document.querySelector('textarea[name=prompt]')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, { bytes: [...bytes], name });
    await drop(downloadedPng!, 'sote-42.png');
    await p.waitForFunction(() => document.querySelector<HTMLTextAreaElement>('textarea[name=prompt]')!.value === '1girl, solo');
    expect(await p.inputValue(sel.negative)).toBe(RECOMMENDED_NEGATIVE);
    expect(await p.inputValue(sel.size)).toBe('custom');
    expect([await p.inputValue(sel.width), await p.inputValue(sel.height)]).toEqual(['256', '256']);
    expect(await p.inputValue('input[name=first_stage_steps]')).toBe('4');
    expect(await p.inputValue('input[name=second_stage_steps]')).toBe('4');
    expect(await p.inputValue('input[name=guidance_scale]')).toBe('8');
    expect(await p.inputValue(sel.seed)).toBe('42');
    expect(await p.isChecked(sel.seedLocked)).toBe(true);
    await checkedScreenshot(p, 'paths-07-restored-from-png');

    // A PNG that carries no parameters (a screenshot) is refused with what to do instead.
    await drop(new Uint8Array(await p.screenshot()), 'screenshot.png');
    const alert = p.locator(sel.alert);
    await alert.waitFor({ state: 'visible' });
    expect(await alert.innerText()).toMatch(/screenshot\.png carries no generation parameters[\s\S]*drop a PNG saved from this page/);
    expect(await p.inputValue(sel.prompt)).toBe('1girl, solo');
    await checkedScreenshot(p, 'paths-08-drop-error');
  });

  it('copy-as-code puts the hosted client call with the current settings on the clipboard', async () => {
    logOnFailure();
    const p = page();
    await p.fill(sel.numImages, '1');
    const copy = async () => {
      await p.evaluate(() => navigator.clipboard.writeText('nothing copied yet'));
      await p.click('button:has-text("Copy as hosted-API code")');
      await p.waitForFunction(async () => (await navigator.clipboard.readText()) !== 'nothing copied yet');
      return p.evaluate(() => navigator.clipboard.readText());
    };
    const inputOf = (code: string) => {
      expect(code).toContain('import { fal } from "@fal-ai/client";');
      const m = /fal\.subscribe\("fal-ai\/stable-cascade\/sote-diffusion", \{\n {2}input: ([\s\S]*?),\n {2}logs: true,\n\}\);/.exec(code);
      expect(m, code).not.toBeNull();
      return JSON.parse(m![1]) as Record<string, unknown>;
    };
    const code = await copy();
    console.log(`clipboard:\n${code}`);
    expect(inputOf(code)).toEqual({
      prompt: '1girl, solo', negative_prompt: RECOMMENDED_NEGATIVE, first_stage_steps: 4, second_stage_steps: 4,
      guidance_scale: 8, second_stage_guidance_scale: 2, image_size: { width: 256, height: 256 }, seed: 42, num_images: 1,
      enable_safety_checker: true,
    });
    // A preset is copied by name, and edits show up.
    await p.selectOption(sel.size, 'landscape_16_9');
    await p.fill('input[name=guidance_scale]', '6.5');
    await p.uncheck(sel.safety);
    expect(inputOf(await copy())).toMatchObject({ image_size: 'landscape_16_9', guidance_scale: 6.5, enable_safety_checker: false });
    await p.check(sel.safety);
    await p.fill('input[name=guidance_scale]', '8');
    await p.selectOption(sel.size, 'custom');
  });

  it('Cancel during a generation stops it: status Cancelled, buttons re-enabled, no image; the next generation works', async () => {
    logOnFailure();
    const p = page();
    const before = await cardCount(p);
    // A longer run (512×512, 50 + 24 steps), cancelled as soon as Stage C has made its first step.
    await p.fill(sel.width, '512');
    await p.fill(sel.height, '512');
    await p.fill('input[name=first_stage_steps]', '50');
    await p.fill('input[name=second_stage_steps]', '24');
    await p.click(sel.generate);
    expect(await p.isDisabled(sel.generate)).toBe(true);
    expect(await p.isDisabled(sel.cancel)).toBe(false);
    const barValue = (stage: string) => p.evaluate((name) => {
      const s = [...document.querySelectorAll('.progress .stage')].find((el) => el.firstElementChild?.textContent === name);
      return (s?.querySelector('progress') as HTMLProgressElement | null)?.value ?? -1;
    }, stage);
    await p.waitForFunction(() => {
      const bar = [...document.querySelectorAll('.progress .stage')].find((s) => s.firstElementChild?.textContent === 'Stage C')?.querySelector('progress');
      return !!bar && bar.value > 0;
    }, undefined, { timeout: 30_000 });
    await checkedScreenshot(p, 'paths-09-running');
    const stageCAtClick = await barValue('Stage C');
    const clicked = Date.now();
    await p.click(sel.cancel);
    // Stage C has ~45 steps to go: a cancel that is only seen after the generation ends shows up here.
    const outcome = await p.waitForFunction((s) => {
      const text = document.querySelector(s)?.textContent ?? '';
      return /^(Cancelled|Done|Failed)/.test(text) && text;
    }, sel.status, { timeout: 60_000 }).then((h) => h.jsonValue());
    expect(outcome, 'the generation ran to its end although Cancel was clicked at the start of Stage C').toBe('Cancelled');
    const stageCAtCancel = await barValue('Stage C');
    console.log(`cancel: clicked at Stage C ${Math.round(stageCAtClick * 50)}/50, Cancelled ${((Date.now() - clicked) / 1000).toFixed(1)} s later at Stage C ${Math.round(stageCAtCancel * 50)}/50`);
    expect(await p.isDisabled(sel.generate)).toBe(false);
    expect(await p.isDisabled(sel.cancel)).toBe(true);
    expect(await p.locator(sel.alert).isHidden()).toBe(true);
    expect(await cardCount(p)).toBe(before);
    // The generation really stopped: Stage B never finished and Stage A never ran.
    expect(await barValue('Stage B')).toBeLessThan(1);
    expect(await barValue('Stage A')).toBe(0);
    await checkedScreenshot(p, 'paths-09-cancelled');

    await p.fill(sel.width, '256');
    await p.fill(sel.height, '256');
    await p.fill('input[name=first_stage_steps]', '4');
    await p.fill('input[name=second_stage_steps]', '4');
    await generateAndWait(p, () => p.click(sel.generate));
    await expectGeneratedCanvas(p, sel.cardCanvas, 0, 256, 256);
  });

  it('the gallery survives a reload; Delete removes an entry (all its images) for good', async () => {
    logOnFailure();
    const p = page();
    // No generation is still finishing (Generate is re-enabled only after its cards are in the gallery).
    await p.waitForFunction((s) => !document.querySelector<HTMLButtonElement>(s)!.disabled, sel.generate, { timeout: 60_000 });
    const metas = await p.locator(`${sel.card} .meta`).allTextContents();
    const sizes = await p.$$eval(sel.cardCanvas, (cs) => cs.map((c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height]));
    // Newest first: whatever the cancel test left (one 256×256 when it passed), then the two 512×512 images
    // and the first 256×256.
    expect(sizes.length).toBeGreaterThanOrEqual(4);
    expect(sizes.slice(-3)).toEqual([[512, 512], [512, 512], [256, 256]]);
    await p.reload();
    await p.waitForFunction((n) => document.querySelectorAll('.gallery .card canvas').length === n, metas.length, { timeout: 30_000 });
    expect(await p.locator(`${sel.card} .meta`).allTextContents()).toEqual(metas);
    for (let i = 0; i < sizes.length; i++) await expectGeneratedCanvas(p, sel.cardCanvas, i, sizes[i][0], sizes[i][1]);
    await checkedScreenshot(p, 'paths-10-after-reload');

    // Delete the two-image entry from one of its cards: both its cards go.
    const twoImageIndex = sizes.length - 3;
    const twoImage = p.locator(sel.card).nth(twoImageIndex);
    const entryId = await twoImage.getAttribute('data-entry');
    expect(await p.locator(`${sel.card}[data-entry="${entryId}"]`).count()).toBe(2);
    await twoImage.locator('button:has-text("Delete")').click();
    await p.waitForFunction((n) => document.querySelectorAll('.gallery .card').length === n, metas.length - 2);
    const kept = metas.filter((_, i) => i !== twoImageIndex && i !== twoImageIndex + 1);
    expect(await p.locator(`${sel.card} .meta`).allTextContents()).toEqual(kept);
    await p.reload();
    await p.waitForFunction(() => document.querySelectorAll('.gallery .card canvas').length > 0, undefined, { timeout: 30_000 });
    await p.waitForTimeout(500); // history renders entry by entry: give a wrongly kept entry time to appear
    expect(await p.locator(`${sel.card} .meta`).allTextContents()).toEqual(kept);
    await checkedScreenshot(p, 'paths-11-after-delete');
  });
});
