/**
 * The queue API (docs/api-contract.md) end to end in headless Chromium: window.sote on e2e/pages/api.html, the
 * built-in demo model on WASM, driven only through page.evaluate as a user's code would call it.
 *
 * One browser and one page for the whole file (the model loads once per page); tiny requests (256², 4/4 steps)
 * keep each generation to seconds. Tests build on each other's history where it saves time (the reload test
 * reads results of requests finished earlier), so they run in order.
 */
import { execFileSync } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { QueueStatus, SoteOutput, WebhookBody } from '../src/client/queue-types.ts';
import type {} from '../src/client/sote.ts';
import type {} from './pages/api.ts';
import { launchBrowser, type BrowserSession } from './support/browser.ts';
import { REPO_ROOT, startViteServer, type RunningVite } from './support/server.ts';

const ENDPOINT = 'fal-ai/stable-cascade/sote-diffusion';
const TINY = { image_size: { width: 256, height: 256 }, first_stage_steps: 4, second_stage_steps: 4 };

interface WebhookServer {
  url: string;
  /** Bodies received (parsed JSON), in arrival order, failed attempts included. */
  received: { attempt: number; body: WebhookBody }[];
  /** Resolves with the first body for this request id that got a 2xx answer. */
  delivered(requestId: string): Promise<WebhookBody>;
  stop(): Promise<void>;
}

/** A webhook receiver with CORS (the page is cross-origin to it) that answers 500 to the first `failFirst` POSTs. */
async function startWebhookServer(failFirst: number): Promise<WebhookServer> {
  const received: WebhookServer['received'] = [];
  const waiters = new Map<string, (b: WebhookBody) => void>();
  const done = new Map<string, WebhookBody>();
  let posts = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', 'Content-Type');
    if (req.method === 'OPTIONS') return void res.writeHead(204).end();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as WebhookBody;
      const attempt = ++posts;
      received.push({ attempt, body });
      if (attempt <= failFirst) return void res.writeHead(500).end('try again');
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}');
      done.set(body.request_id, body);
      waiters.get(body.request_id)?.(body);
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    delivered: (id) => done.has(id) ? Promise.resolve(done.get(id)!) : new Promise((ok) => waiters.set(id, ok)),
    stop: () => new Promise<void>((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    }),
  };
}

describe('queue API (window.sote, demo model on WASM)', () => {
  let vite: RunningVite | undefined;
  let browser: BrowserSession | undefined;
  let hooks: WebhookServer | undefined;
  /** Requests finished before the reload test, whose status/result must survive it. */
  let finishedBeforeReload: string | undefined;
  let syncRequestId: string | undefined;

  const page = () => browser!.page;
  const openPage = async () => {
    await page().waitForFunction(() => window.soteApiReady === true, undefined, { timeout: 120_000 });
    await page().evaluate(() => window.sote!.ready);
  };

  beforeAll(async () => {
    execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs'), join(REPO_ROOT, 'scripts/build-demo-model.ts')], { cwd: REPO_ROOT, stdio: 'inherit' });
    vite = await startViteServer();
    browser = await launchBrowser();
    hooks = await startWebhookServer(1);
    await page().goto(`${vite.origin}/e2e/pages/api.html`);
    await openPage();
  });

  afterAll(async () => {
    await browser?.close();
    await vite?.stop();
    await hooks?.stop();
  });

  it('rejects bad input with 422 naming each field, before any work; unknown endpoint ids list the known one', async () => {
    onTestFailed(() => browser?.printLogs('browser log (422)'));
    const cases: [string, Record<string, unknown>, string][] = [
      ['missing prompt', { ...TINY }, 'prompt'],
      ['num_images 5', { prompt: 'x', num_images: 5 }, 'num_images'],
      ['first_stage_steps 3', { prompt: 'x', first_stage_steps: 3 }, 'first_stage_steps'],
      ['image_size "huge"', { prompt: 'x', image_size: 'huge' }, 'image_size'],
      ['width 100', { prompt: 'x', image_size: { width: 100, height: 512 } }, 'image_size'],
    ];
    for (const [label, input, field] of cases) {
      const e = await page().evaluate(async ([endpoint, inp]) => {
        try {
          await window.sote!.queue.submit(endpoint, { input: inp as never });
          return undefined;
        } catch (err) {
          return window.soteApiTest!.describeError(err);
        }
      }, [ENDPOINT, input] as const);
      expect(e, label).toBeDefined();
      expect(e!.status, label).toBe(422);
      const detail = (e!.body as { detail: { loc: (string | number)[]; msg: string; type: string }[] }).detail;
      expect(detail, label).toHaveLength(1);
      expect(detail[0].loc.slice(0, 2), label).toEqual(['body', field]);
      expect(detail[0].msg.length, label).toBeGreaterThan(0);
      console.log(`422 ${label}: ${JSON.stringify(detail[0])}`);
    }
    // The width case points inside image_size.
    const width = await page().evaluate(async (endpoint) => {
      try {
        await window.sote!.queue.submit(endpoint, { input: { prompt: 'x', image_size: { width: 100, height: 512 } } });
      } catch (err) {
        return window.soteApiTest!.describeError(err);
      }
    }, ENDPOINT);
    expect((width!.body as { detail: { loc: string[] }[] }).detail[0].loc).toEqual(['body', 'image_size', 'width']);
    // Several problems at once: one entry each.
    const many = await page().evaluate(async (endpoint) => {
      try {
        await window.sote!.queue.submit(endpoint, { input: { num_images: 5, first_stage_steps: 3, image_size: 'huge' } as never });
      } catch (err) {
        return window.soteApiTest!.describeError(err);
      }
    }, ENDPOINT);
    expect((many!.body as { detail: { loc: string[] }[] }).detail.map((d) => d.loc[1]).sort()).toEqual(['first_stage_steps', 'image_size', 'num_images', 'prompt']);
    // Nothing was queued by any of that.
    expect(await page().evaluate(() => window.sote!.listRequests())).toEqual([]);

    const unknown = await page().evaluate(async () => {
      try {
        await window.sote!.queue.submit('fal-ai/flux/dev', { input: { prompt: 'x' } });
      } catch (err) {
        return window.soteApiTest!.describeError(err);
      }
    });
    expect(unknown!.message).toContain('fal-ai/stable-cascade/sote-diffusion');
    expect(unknown!.message).toContain('fal-ai/flux/dev');
  });

  it('three requests: IN_QUEUE positions, run one at a time in order, result shapes, PNG parameters, logs', async () => {
    onTestFailed(() => browser?.printLogs('browser log (three requests)'));
    const r = await page().evaluate(async ([endpoint, tiny]) => {
      const sote = window.sote!;
      const inputs = [
        { prompt: 'first, 1girl', ...tiny, seed: 1234, extra_field: 'ignored' },
        { prompt: 'second', ...tiny },
        { prompt: 'third', ...tiny, num_images: 2, seed: 99, enable_safety_checker: false },
      ];
      const submitted = [];
      for (const input of inputs) submitted.push(await sote.queue.submit(endpoint, { input: input as never }));
      const ids = submitted.map((s) => s.request_id);
      const statuses = await Promise.all(ids.map((requestId) => sote.queue.status(endpoint, { requestId })));
      const finished: string[] = [];
      const thirdUpdates: QueueStatus[] = [];
      const completed = await Promise.all(ids.map((requestId, i) => sote.queue.subscribeToStatus(endpoint, {
        requestId,
        logs: true,
        onQueueUpdate: i === 2 ? (s) => void thirdUpdates.push(s) : undefined,
      }).then((s) => {
        finished.push(requestId);
        return s;
      })));
      const results = await Promise.all(ids.map((requestId) => sote.queue.result(endpoint, { requestId })));
      const pngs = await Promise.all(results.flatMap((res) => res.data.images.map((im) => window.soteApiTest!.inspectPng(im.url))));
      return { submitted, ids, statuses, finished, completed, results, pngs, thirdUpdates: thirdUpdates.map((s) => s.status === 'IN_QUEUE' ? `IN_QUEUE ${s.queue_position}` : s.status) };
    }, [ENDPOINT, TINY] as const);

    expect(r.submitted.map((s) => s.status)).toEqual(['IN_QUEUE', 'IN_QUEUE', 'IN_QUEUE']);
    expect(r.submitted[0].queue_position).toBe(0);
    // The first has started by the time the others are queued; the rest wait in order.
    expect(r.statuses[0]).toMatchObject({ status: 'IN_PROGRESS', request_id: r.ids[0], logs: [] });
    expect(r.statuses[1]).toMatchObject({ status: 'IN_QUEUE', queue_position: 0, request_id: r.ids[1] });
    expect(r.statuses[2]).toMatchObject({ status: 'IN_QUEUE', queue_position: 1, request_id: r.ids[2] });
    expect(r.finished).toEqual(r.ids);
    // The third saw its position go down, then run, then complete (repeats collapsed).
    const seen = r.thirdUpdates.filter((s, i, a) => i === 0 || a[i - 1] !== s);
    expect(seen).toEqual(['IN_QUEUE 1', 'IN_QUEUE 0', 'IN_PROGRESS', 'COMPLETED']);

    for (const [i, c] of r.completed.entries()) {
      expect(c.status).toBe('COMPLETED');
      expect(c.request_id).toBe(r.ids[i]);
      expect(c.error).toBeUndefined();
      expect(c.metrics.inference_time).toBeGreaterThan(0);
      for (const l of c.logs) {
        expect(l.source).toBe('USER');
        expect(['STDERR', 'STDOUT', 'ERROR', 'INFO', 'WARN', 'DEBUG']).toContain(l.level);
        expect(new Date(l.timestamp).toISOString()).toBe(l.timestamp);
      }
    }
    // One at a time: each request starts after the previous one completed.
    const at = (i: number, re: RegExp) => r.completed[i].logs.find((l) => re.test(l.message))!.timestamp;
    expect(at(1, /^request started/) >= at(0, /^completed/)).toBe(true);
    expect(at(2, /^request started/) >= at(1, /^completed/)).toBe(true);

    const messages = r.completed[0].logs.map((l) => `${l.level} ${l.message}`);
    console.log(`logs of the first request:\n  ${messages.join('\n  ')}`);
    expect(messages).toContainEqual(expect.stringMatching(/^WARN unknown input field\(s\) ignored: extra_field$/));
    for (const re of [/^INFO loading model .*\/models\/tiny-demo\//, /^INFO model loaded in/, /^INFO text encoder \(CLIP\) started/, /^INFO Stage C \(prior\) started/,
      /^INFO Stage C \(prior\) step 1\/4/, /^INFO Stage C \(prior\) step 4\/4/, /^INFO Stage B \(decoder\) started/, /^INFO Stage B \(decoder\) step 4\/4/,
      /^INFO Stage A \(VQGAN decode\) started/, /^INFO safety checker tiny-demo-safety loaded on wasm/,
      /^INFO safety checker: image 0 \(256×256\) P\(nsfw\) = [\d.]+: passed/, /^INFO timings: text encoder/]) {
      expect(messages, String(re)).toContainEqual(expect.stringMatching(re));
    }
    // The model loads once per page, not per request.
    expect(r.completed[1].logs.some((l) => l.message.startsWith('loading model'))).toBe(false);

    const [a, b, c] = r.results;
    expect(a.requestId).toBe(r.ids[0]);
    expect(Object.keys(a.data).sort()).toEqual(['has_nsfw_concepts', 'images', 'prompt', 'seed', 'timings']);
    expect(a.data.images).toEqual([{ url: expect.stringMatching(/^blob:/), width: 256, height: 256, content_type: 'image/png' }]);
    expect(a.data.seed).toBe(1234);
    expect(a.data.prompt).toBe('first, 1girl');
    expect(a.data.has_nsfw_concepts).toEqual([false]);
    expect(Object.keys(a.data.timings).sort()).toEqual(['decoder', 'inference', 'prior', 'safety_checker', 'text_encoder', 'vqgan']);
    for (const v of Object.values(a.data.timings)) expect(typeof v).toBe('number');
    expect(a.data.timings.inference).toBeGreaterThan(0);
    expect(a.data.timings.inference).toBeLessThan(600); // seconds, not milliseconds
    expect(r.completed[0].metrics.inference_time).toBe(a.data.timings.inference);
    expect(Number.isInteger(b.data.seed) && b.data.seed >= 0 && b.data.seed <= 2 ** 32 - 1).toBe(true);
    expect(c.data.images).toHaveLength(2);
    expect(c.data.has_nsfw_concepts).toEqual([false, false]);
    expect(c.data.seed).toBe(99);
    // The checker ran for the first (demo noise passes it) and was off for the third.
    expect(a.data.timings.safety_checker).toBeGreaterThan(0);
    expect(c.data.timings.safety_checker).toBe(0);
    expect(r.completed[2].logs.some((l) => /^safety checker disabled: 2 image\(s\) not checked/.test(l.message))).toBe(true);

    expect(r.pngs).toHaveLength(4);
    for (const p of r.pngs) expect(p).toMatchObject({ contentType: 'image/png', width: 256, height: 256 });
    expect(r.pngs[0].parameters).toMatchObject({ prompt: 'first, 1girl', seed: '1234', steps: 4, secondStageSteps: 4, cfgScale: 8, secondStageCfgScale: 2, width: 256, height: 256 });
    expect(r.pngs[0].bytes).toBeGreaterThan(1000); // an image, not an empty shell
    finishedBeforeReload = r.ids[0];
  });

  it('cancel: a queued request ends COMPLETED with an error, result() rejects with it; a running one stops', async () => {
    onTestFailed(() => browser?.printLogs('browser log (cancel)'));
    const r = await page().evaluate(async ([endpoint, tiny]) => {
      const sote = window.sote!;
      const first = (await sote.queue.submit(endpoint, { input: { prompt: 'runs, then cancelled', ...tiny } })).request_id;
      const second = (await sote.queue.submit(endpoint, { input: { prompt: 'cancelled while queued', ...tiny } })).request_id;
      const third = (await sote.queue.submit(endpoint, { input: { prompt: 'runs after', ...tiny } })).request_id;
      const before = await sote.queue.status(endpoint, { requestId: second });
      await sote.queue.cancel(endpoint, { requestId: second });
      const after = await sote.queue.status(endpoint, { requestId: second, logs: true });
      const thirdAfter = await sote.queue.status(endpoint, { requestId: third });
      const secondResult = await sote.queue.result(endpoint, { requestId: second }).then(() => undefined, (e: unknown) => window.soteApiTest!.describeError(e));
      // Cancel the running one at its first step.
      let cancelSent = false;
      const firstDone = await sote.queue.subscribeToStatus(endpoint, {
        requestId: first,
        logs: true,
        onQueueUpdate: (s) => {
          if (!cancelSent && s.status === 'IN_PROGRESS' && s.logs.some((l) => /step 1\//.test(l.message))) {
            cancelSent = true;
            void sote.queue.cancel(endpoint, { requestId: first });
          }
        },
      });
      const firstResult = await sote.queue.result(endpoint, { requestId: first }).then(() => undefined, (e: unknown) => window.soteApiTest!.describeError(e));
      const thirdResult = await sote.queue.result(endpoint, { requestId: third });
      return { before, after, thirdAfter, secondResult, firstDone, firstResult, cancelSent, thirdImages: thirdResult.data.images.length };
    }, [ENDPOINT, TINY] as const);
    expect(r.before).toMatchObject({ status: 'IN_QUEUE', queue_position: 0 });
    expect(r.after).toMatchObject({ status: 'COMPLETED', error_type: 'GenerationCancelledError', metrics: { inference_time: null } });
    expect(r.after.status === 'COMPLETED' && r.after.error).toMatch(/cancelled/);
    expect(r.thirdAfter).toMatchObject({ status: 'IN_QUEUE', queue_position: 0 }); // moved up when the second left
    expect(r.secondResult).toMatchObject({ name: 'GenerationCancelledError' });
    expect(r.cancelSent).toBe(true);
    expect(r.firstDone).toMatchObject({ status: 'COMPLETED', error_type: 'GenerationCancelledError' });
    expect(r.firstResult).toMatchObject({ name: 'GenerationCancelledError' });
    expect(r.thirdImages).toBe(1);
  });

  it('webhooks: POSTed JSON with retries (OK with data: URI images; ERROR for a cancelled request)', async () => {
    onTestFailed(() => browser?.printLogs('browser log (webhook)'));
    const r = await page().evaluate(async ([endpoint, tiny, url]) => {
      const sote = window.sote!;
      const ok = (await sote.queue.submit(endpoint, { input: { prompt: 'webhook ok', ...tiny, seed: 7 }, webhookUrl: url })).request_id;
      const bad = (await sote.queue.submit(endpoint, { input: { prompt: 'webhook error', ...tiny }, webhookUrl: url })).request_id;
      await sote.queue.cancel(endpoint, { requestId: bad });
      await sote.queue.result(endpoint, { requestId: ok });
      return { ok, bad };
    }, [ENDPOINT, TINY, hooks!.url] as const);
    const okBody = await hooks!.delivered(r.ok);
    const badBody = await hooks!.delivered(r.bad);
    expect(okBody).toMatchObject({ request_id: r.ok, gateway_request_id: r.ok, status: 'OK' });
    expect(okBody.error).toBeUndefined();
    const payload = okBody.payload as SoteOutput;
    expect(payload.images[0]).toMatchObject({ url: expect.stringMatching(/^data:image\/png;base64,/), width: 256, height: 256, content_type: 'image/png' });
    expect(Buffer.from(payload.images[0].url.split(',')[1], 'base64').subarray(1, 4).toString()).toBe('PNG');
    expect(payload).toMatchObject({ seed: 7, prompt: 'webhook ok', has_nsfw_concepts: [false] });
    expect(badBody).toMatchObject({ request_id: r.bad, gateway_request_id: r.bad, status: 'ERROR', error: expect.stringMatching(/cancelled/), payload: { error_type: 'GenerationCancelledError' } });
    // The first POST got a 500 and was retried.
    expect(hooks!.received[0].attempt).toBe(1);
    expect(hooks!.received.length).toBe(3);
    // The page logs a delivery when the POST's response arrives, a moment after the server has the body.
    const webhookLogs = () => page().evaluate(async ([endpoint, ids]) => {
      const s = await window.sote!.queue.status(endpoint, { requestId: ids[0], logs: true });
      const t = await window.sote!.queue.status(endpoint, { requestId: ids[1], logs: true });
      return [...(s.status === 'IN_QUEUE' ? [] : s.logs), ...(t.status === 'IN_QUEUE' ? [] : t.logs)].filter((l) => l.message.startsWith('webhook')).map((l) => `${l.level} ${l.message}`);
    }, [ENDPOINT, [r.ok, r.bad]] as const);
    let logs = await webhookLogs();
    for (let i = 0; i < 50 && logs.filter((l) => /^INFO webhook delivered/.test(l)).length < 2; i++) {
      await new Promise((ok) => setTimeout(ok, 100));
      logs = await webhookLogs();
    }
    console.log(`webhook log lines:\n  ${logs.join('\n  ')}`);
    expect(logs.some((l) => /^WARN webhook .* attempt 1 failed \(HTTP 500\); retrying/.test(l))).toBe(true);
    expect(logs.filter((l) => /^INFO webhook delivered/.test(l))).toHaveLength(2);
  });

  it('subscribe with logs and onQueueUpdate; sync_mode returns data: URIs', async () => {
    onTestFailed(() => browser?.printLogs('browser log (subscribe)'));
    const r = await page().evaluate(async ([endpoint, tiny]) => {
      const updates: QueueStatus[] = [];
      let enqueued = '';
      const result = await window.sote!.subscribe(endpoint, {
        input: { prompt: 'sync please', ...tiny, sync_mode: true },
        logs: true,
        onEnqueue: (id) => void (enqueued = id),
        onQueueUpdate: (s) => void updates.push(s),
      });
      const png = await window.soteApiTest!.inspectPng(result.data.images[0].url);
      return { result, enqueued, png, kinds: [...new Set(updates.map((u) => u.status))], maxLogs: Math.max(...updates.map((u) => (u.status === 'IN_QUEUE' ? 0 : u.logs.length))) };
    }, [ENDPOINT, TINY] as const);
    expect(r.result.requestId).toBe(r.enqueued);
    expect(r.result.data.images[0]).toMatchObject({ url: expect.stringMatching(/^data:image\/png;base64,/), width: 256, height: 256, content_type: 'image/png' });
    expect(r.png).toMatchObject({ width: 256, height: 256 });
    expect(r.kinds).toContain('IN_PROGRESS');
    expect(r.kinds[r.kinds.length - 1]).toBe('COMPLETED');
    expect(r.maxLogs).toBeGreaterThan(5);
    syncRequestId = r.result.requestId;

    // abortSignal cancels the request and rejects.
    const aborted = await page().evaluate(async ([endpoint, tiny]) => {
      const controller = new AbortController();
      let id = '';
      const p = window.sote!.subscribe(endpoint, { input: { prompt: 'aborted', ...tiny }, abortSignal: controller.signal, onEnqueue: (rid) => void (id = rid) });
      setTimeout(() => controller.abort(), 50);
      const err = await p.then(() => undefined, (e: unknown) => window.soteApiTest!.describeError(e));
      const status = await window.sote!.queue.subscribeToStatus(endpoint, { requestId: id });
      return { err, status };
    }, [ENDPOINT, TINY] as const);
    expect(aborted.err?.name).toBe('AbortError');
    expect(aborted.status).toMatchObject({ status: 'COMPLETED', error_type: 'GenerationCancelledError' });
  });

  it('a reload while requests are queued resumes them; history survives; sync_mode requests are not kept', async () => {
    onTestFailed(() => browser?.printLogs('browser log (reload)'));
    const ids = await page().evaluate(async ([endpoint, tiny]) => {
      const out: string[] = [];
      for (const seed of [11, 12, 13]) out.push((await window.sote!.queue.submit(endpoint, { input: { prompt: `resumed ${seed}`, ...tiny, seed } })).request_id);
      return out;
    }, [ENDPOINT, TINY] as const);
    await page().reload();
    await openPage();
    const r = await page().evaluate(async ([endpoint, ids, earlier, syncId]) => {
      const sote = window.sote!;
      const first = await Promise.all(ids.map((requestId) => sote.queue.status(endpoint, { requestId })));
      const results = [];
      for (const requestId of ids) results.push(await sote.queue.result(endpoint, { requestId }));
      const logs = (await sote.queue.status(endpoint, { requestId: ids[0], logs: true }));
      const old = await sote.queue.result(endpoint, { requestId: earlier });
      const oldPng = await window.soteApiTest!.inspectPng(old.data.images[0].url);
      const sync = await sote.queue.status(endpoint, { requestId: syncId }).then(() => undefined, (e: unknown) => window.soteApiTest!.describeError(e));
      return { first, seeds: results.map((x) => x.data.seed), urls: results.map((x) => x.data.images[0].url), logs: logs.status === 'IN_QUEUE' ? [] : logs.logs.map((l) => l.message), oldPng, sync };
    }, [ENDPOINT, ids, finishedBeforeReload!, syncRequestId!] as const);
    for (const s of r.first) expect(['IN_QUEUE', 'IN_PROGRESS', 'COMPLETED']).toContain(s.status);
    expect(r.first.some((s) => s.status !== 'COMPLETED')).toBe(true); // the reload interrupted them
    expect(r.seeds).toEqual([11, 12, 13]);
    for (const u of r.urls) expect(u).toMatch(/^blob:/);
    expect(r.logs.some((m) => /^page reloaded while the request was (queued|running): queued again/.test(m))).toBe(true);
    expect(r.oldPng).toMatchObject({ width: 256, height: 256, parameters: { prompt: 'first, 1girl', seed: '1234' } });
    expect(r.sync).toMatchObject({ status: 404, name: 'RequestNotFoundError' });
  });
});
