/**
 * The "SoteDiffusion v2 recommended" preset on the generator page, end to end on the tiny demo model (WASM):
 * one click sets 28 steps / CFG 6 DPM++ 2M SGM Uniform and 14 steps / CFG 1 LCM Exponential; the generation
 * runs with them; the gallery card names the samplers; the PNG records them with A1111 names; copy-as-code
 * carries the extension fields; dropping the PNG on a page set back to DDPM restores them.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { readPngParameters } from '../src/client/image-files.ts';
import { launchBrowser, type BrowserSession } from './support/browser.ts';
import { fillFast, generateAndWait, sel } from './support/generator-page.ts';
import { checkedScreenshot, expectGeneratedCanvas } from './support/screenshots.ts';
import { startViteServer, type RunningVite } from './support/server.ts';

const samplerSelects = ['sampler', 'scheduler', 'second_stage_sampler', 'second_stage_scheduler'] as const;

describe('generator page: SoteDiffusion v2 recommended preset', () => {
  let vite: RunningVite | undefined;
  let browser: BrowserSession | undefined;
  const page = () => browser!.page;

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

  const selects = () => Promise.all(samplerSelects.map((n) => page().inputValue(`select[name=${n}]`)));
  const numbers = () => Promise.all(['first_stage_steps', 'guidance_scale', 'second_stage_steps', 'second_stage_guidance_scale']
    .map(async (n) => Number(await page().inputValue(`input[name=${n}]`))));

  it('defaults to DDPM on both stages (schedules disabled); the preset sets steps, CFG, samplers and schedules', async () => {
    onTestFailed(() => browser?.printLogs('browser log (page)'));
    const p = page();
    expect((await selects())[0]).toBe('ddpm');
    expect((await selects())[2]).toBe('ddpm');
    expect(await p.isDisabled('select[name=scheduler]')).toBe(true);
    expect(await p.isDisabled('select[name=second_stage_scheduler]')).toBe(true);
    await fillFast(p, { prompt: '1girl, solo', seed: 42 });
    await p.click('button:has-text("SoteDiffusion v2 recommended")');
    expect(await numbers()).toEqual([28, 6, 14, 1]);
    expect(await selects()).toEqual(['dpmpp_2m', 'sgm_uniform', 'lcm', 'exponential']);
    expect(await p.isDisabled('select[name=scheduler]')).toBe(false);
    // The preset leaves the rest alone.
    expect([await p.inputValue(sel.prompt), await p.inputValue(sel.seed), await p.inputValue(sel.width)]).toEqual(['1girl, solo', '42', '256']);
    await checkedScreenshot(p.locator('form').first(), 'sampler-01-preset-form');
  });

  it('generates with the preset; the card, the PNG parameters and copy-as-code name the samplers', async () => {
    onTestFailed(() => browser?.printLogs('browser log (page)'));
    const p = page();
    const status = await generateAndWait(p, () => p.click(sel.generate), 1, 180_000);
    console.log(`preset generation: ${status}`);
    await expectGeneratedCanvas(p, sel.cardCanvas, 0, 256, 256);
    const meta = (await p.textContent(`${sel.card} .meta`)) ?? '';
    expect(meta).toContain('DPM++ 2M SGM Uniform / LCM Exponential');
    await checkedScreenshot(p.locator(sel.card).first(), 'sampler-02-card', { minColours: 100 });

    const [download] = await Promise.all([p.waitForEvent('download'), p.locator(sel.card).first().locator('button:has-text("PNG")').click()]);
    const png = new Uint8Array(await readFile((await download.path())!));
    expect(readPngParameters(png)).toMatchObject({
      steps: 28, cfgScale: 6, sampler: 'DPM++ 2M', scheduleType: 'SGM Uniform',
      secondStageSteps: 14, secondStageCfgScale: 1, secondStageSampler: 'LCM', secondStageScheduleType: 'Exponential', seed: '42',
    });

    await p.evaluate(() => navigator.clipboard.writeText('nothing copied yet'));
    await p.click('button:has-text("Copy as hosted-API code")');
    await p.waitForFunction(async () => (await navigator.clipboard.readText()) !== 'nothing copied yet');
    const code = await p.evaluate(() => navigator.clipboard.readText());
    expect(code).toContain('Sote WebGPU extensions');
    const input = JSON.parse(/input: ([\s\S]*?),\n {2}logs: true/.exec(code)![1]) as Record<string, unknown>;
    expect(input).toMatchObject({
      first_stage_steps: 28, guidance_scale: 6, sampler: 'dpmpp_2m', scheduler: 'sgm_uniform',
      second_stage_steps: 14, second_stage_guidance_scale: 1, second_stage_sampler: 'lcm', second_stage_scheduler: 'exponential',
    });

    // Back to DDPM by hand, then drop the PNG: the samplers come back with the rest of its settings.
    await p.selectOption('select[name=sampler]', 'ddpm');
    await p.selectOption('select[name=second_stage_sampler]', 'ddpm');
    await p.fill('input[name=first_stage_steps]', '4');
    expect(await p.isDisabled('select[name=scheduler]')).toBe(true);
    await p.evaluate((bytes) => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(bytes)], 'sote-42.png', { type: 'image/png' }));
      document.querySelector('textarea[name=prompt]')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, [...png]);
    await p.waitForFunction(() => document.querySelector<HTMLSelectElement>('select[name=sampler]')!.value === 'dpmpp_2m');
    expect(await selects()).toEqual(['dpmpp_2m', 'sgm_uniform', 'lcm', 'exponential']);
    expect(await numbers()).toEqual([28, 6, 14, 1]);
    await checkedScreenshot(p, 'sampler-03-restored-from-png');
  });
});
