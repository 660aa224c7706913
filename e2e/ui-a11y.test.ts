/**
 * The generator page for everyone: an axe-core audit (WCAG 2.0/2.1 A and AA rules plus best practices) of the
 * page as it opens, after a field error and with the Models panel open reports no violation; every form field's
 * accessible name is its visible label (hint and error text come through aria-describedby), so
 * getByLabel('Prompt') finds the prompt; no field error shows before the user has touched the form.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { launchBrowser, type BrowserSession } from './support/browser.ts';
import { sel } from './support/generator-page.ts';
import { REPO_ROOT, startViteServer, type RunningVite } from './support/server.ts';

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

declare global {
  interface Window {
    axe?: { run(context: Document, options: { runOnly: { type: 'tag'; values: string[] } }): Promise<{ violations: AxeViolation[]; passes: unknown[] }> };
  }
}

const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];

/** Runs axe-core in the page; the violations as one line per failing element. */
async function audit(page: Page, axeSource: string): Promise<{ lines: string[]; passes: number }> {
  if (!(await page.evaluate(() => window.axe !== undefined))) await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate((tags) => window.axe!.run(document, { runOnly: { type: 'tag', values: tags } }), AXE_TAGS);
  return {
    lines: result.violations.flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact}): ${n.target.join(' ')} — ${v.help}${n.failureSummary ? ` — ${n.failureSummary.replace(/\s+/g, ' ')}` : ''}`)),
    passes: result.passes.length,
  };
}

describe('generator page accessibility', () => {
  let vite: RunningVite | undefined;
  let browser: BrowserSession | undefined;
  let axeSource = '';
  const page = () => browser!.page;

  beforeAll(async () => {
    axeSource = await readFile(join(REPO_ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8');
    vite = await startViteServer();
    browser = await launchBrowser();
    await page().setViewportSize({ width: 1280, height: 900 });
    await page().goto(`${vite.origin}/`);
    await page().waitForSelector(sel.generate);
    // The Models panel fills in asynchronously (catalogue, device recommendation): audit it filled.
    await page().waitForSelector('select[name^=precision-]');
  });
  afterAll(async () => {
    await browser?.close();
    await vite?.stop();
  });

  it('no field error before the form is touched; axe finds no violation on the page as it opens', async () => {
    onTestFailed(() => browser?.printLogs('browser log (a11y open)'));
    const p = page();
    expect(await p.locator('form .field-error:not(:empty), [aria-invalid=true]').count()).toBe(0);
    expect(await p.locator('form [role=alert]').isVisible()).toBe(false);
    const { lines, passes } = await audit(p, axeSource);
    console.log(`axe (page as it opens): ${passes} rules pass, ${lines.length} violations\n  ${lines.join('\n  ')}`);
    expect(lines).toEqual([]);
  });

  it('each field is found by its label; hints and errors are its description; a touched empty prompt errors accessibly', async () => {
    onTestFailed(() => browser?.printLogs('browser log (a11y labels)'));
    const p = page();
    const prompt = p.getByLabel('Prompt', { exact: true });
    expect(await prompt.count()).toBe(1);
    expect(await prompt.evaluate((e) => e.getAttribute('name'))).toBe('prompt');
    // Every form control has an accessible name (its label), none is only a placeholder.
    const unnamed = await p.evaluate(() => [...document.querySelectorAll<HTMLElement>('input, select, textarea')]
      .filter((e) => e.offsetParent !== null && (e as HTMLInputElement).type !== 'hidden')
      .filter((e) => !(e as HTMLInputElement).labels?.length && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby'))
      .map((e) => e.outerHTML.slice(0, 120)));
    expect(unnamed).toEqual([]);
    // Touch the prompt and leave it empty: the error appears, tied to the field.
    await prompt.fill('x');
    await prompt.fill('');
    await prompt.blur();
    await p.click(sel.generate);
    const invalid = await prompt.getAttribute('aria-invalid');
    expect(invalid).toBe('true');
    const described = await prompt.evaluate((e) => (e.getAttribute('aria-describedby') ?? '').split(/\s+/).filter(Boolean)
      .map((id) => document.getElementById(id)?.textContent ?? '').join(' | '));
    console.log(`prompt description after the error: ${described}`);
    expect(described).toMatch(/enter a prompt/);
    const { lines } = await audit(p, axeSource);
    console.log(`axe (with a field error): ${lines.length} violations\n  ${lines.join('\n  ')}`);
    expect(lines).toEqual([]);
  });
});
