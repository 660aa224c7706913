/**
 * Headless Chromium for browser tests, through playwright-core (no Playwright-managed browsers: the system
 * Chromium at CHROMIUM_PATH or /usr/bin/chromium). Flags follow docs/platform-notes Q1: --enable-unsafe-webgpu
 * exposes the SwiftShader WebGPU adapter on machines without a GPU, and the host-resolver rule keeps Chromium
 * from talking to anything but 127.0.0.1.
 *
 * Every console message, page error and worker error is recorded; call `printLogs()` (e.g. from vitest's
 * onTestFailed) so a failing test shows what the page said.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--enable-unsafe-webgpu',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
];

export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH || '/usr/bin/chromium';
}

export interface LaunchOptions {
  /**
   * Reuse this profile folder (persistence tests: close, relaunch with the same dir, find IndexedDB intact).
   * It is left in place on close. Without it a fresh temp profile is made and removed on close.
   */
  userDataDir?: string;
  /** Extra Chromium flags. */
  args?: string[];
}

export interface BrowserSession {
  readonly context: BrowserContext;
  /** The context's first page. */
  readonly page: Page;
  readonly userDataDir: string;
  /** Console messages, page errors and worker errors, in order, as `[type] text`. */
  readonly logs: string[];
  printLogs(title?: string): void;
  close(): Promise<void>;
}

export async function launchBrowser(options: LaunchOptions = {}): Promise<BrowserSession> {
  const executablePath = chromiumPath();
  if (!existsSync(executablePath)) {
    throw new Error(`Chromium not found at ${executablePath} (install the Debian package "chromium" or set CHROMIUM_PATH)`);
  }
  const ownDir = options.userDataDir === undefined;
  const userDataDir = options.userDataDir ?? (await mkdtemp(join(tmpdir(), 'sote-chromium-')));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
  });
  const logs: string[] = [];
  const stamp = () => new Date().toISOString().slice(11, 23);
  const onConsole = (msg: ConsoleMessage) => {
    const loc = msg.location();
    const at = loc.url ? ` (${loc.url.replace(/^https?:\/\/[^/]+/, '')}:${loc.lineNumber})` : '';
    logs.push(`${stamp()} [${msg.type()}] ${msg.text()}${at}`);
  };
  const watch = (page: Page) => {
    // The page's console event also carries its dedicated workers' messages.
    page.on('console', onConsole);
    page.on('pageerror', (e) => logs.push(`${stamp()} [pageerror] ${e.stack ?? e.message}`));
    page.on('crash', () => logs.push(`${stamp()} [crash] the page crashed`));
    page.on('worker', (w) => {
      logs.push(`${stamp()} [worker] started ${w.url()}`);
      w.on('close', () => logs.push(`${stamp()} [worker] closed ${w.url()}`));
    });
  };
  context.pages().forEach(watch);
  context.on('page', watch);
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    userDataDir,
    logs,
    printLogs(title = 'browser log') {
      console.log(`---- ${title} (${logs.length} lines) ----\n${logs.join('\n')}\n---- end of ${title} ----`);
    },
    async close() {
      await context.close().catch(() => undefined);
      if (ownDir) await rm(userDataDir, { recursive: true, force: true }).catch(() => undefined);
    },
  };
}
