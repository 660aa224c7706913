/**
 * The rest of @fal-ai/client 1.10's surface through the real worker (e2e/pages/api.html, the demo model on WASM):
 * run, stream (statuses, steps, Stage C previews, abort), queue.streamStatus, subscribeToStatus with timeout and
 * abortSignal, every subscribe option (timeout, startTimeout, priority, abortSignal, mode/pollInterval,
 * storageSettings, webhookUrl, headers with its one WARN), createFalClient, the error classes' hosted fields and
 * realtime's refusal. Called only through page.evaluate, as a user's code would call it.
 *
 * One browser and one page for the file; tiny requests (256², 4/4 steps). A request that must still be queued
 * when a timer fires sits behind a "blocker" request submitted first.
 */
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { QueueStatus, SoteStreamEvent, WebhookBody } from '../src/client/index.ts';
import type {} from '../src/client/sote.ts';
import type {} from './pages/api.ts';
import { launchBrowser, type BrowserSession } from './support/browser.ts';
import { REPO_ROOT, startViteServer, type RunningVite } from './support/server.ts';

const ENDPOINT = 'fal-ai/stable-cascade/sote-diffusion';
const TINY = { image_size: { width: 256, height: 256 }, first_stage_steps: 4, second_stage_steps: 4 };

/** A request long enough (many steps) that the timers of requests queued behind it fire while they wait. */
const BLOCKER = { ...TINY, first_stage_steps: 50, second_stage_steps: 24 };

describe('@fal-ai/client surface (window.sote, demo model on WASM)', () => {
  let vite: RunningVite | undefined;
  let browser: BrowserSession | undefined;
  const page = () => browser!.page;

  beforeAll(async () => {
    execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs'), join(REPO_ROOT, 'scripts/build-demo-model.ts')], { cwd: REPO_ROOT, stdio: 'inherit' });
    vite = await startViteServer();
    browser = await launchBrowser();
    await page().goto(`${vite.origin}/e2e/pages/api.html`);
    await page().waitForFunction(() => window.soteApiReady === true, undefined, { timeout: 120_000 });
    await page().evaluate(() => window.sote!.ready);
  });

  afterAll(async () => {
    await browser?.close();
    await vite?.stop();
  });

  it('errors carry the hosted fields; realtime refuses; unknown endpoints reject on every entry point', async () => {
    onTestFailed(() => browser?.printLogs('browser log (errors)'));
    const r = await page().evaluate(async (endpoint) => {
      const { ApiError, ValidationError, describeError } = window.soteApiTest!;
      const sote = window.sote!;
      const invalid = await sote.run(endpoint, { input: { prompt: '', num_images: 9 } }).then(() => undefined, (e: unknown) => e);
      const fields = invalid instanceof ValidationError
        ? { all: invalid.fieldErrors.map((f) => f.loc.join('.')), prompt: invalid.getFieldErrors('prompt').length, isApi: invalid instanceof ApiError, status: invalid.status, requestId: invalid.requestId, timeout: invalid.isUserTimeout }
        : undefined;
      let realtime: ReturnType<typeof describeError> | undefined;
      try {
        sote.realtime.connect(endpoint, { onResult: () => undefined });
      } catch (e) {
        realtime = { ...describeError(e), isApi: e instanceof ApiError } as ReturnType<typeof describeError>;
      }
      const unknown = await Promise.all([
        sote.run('fal-ai/flux/dev', { input: { prompt: 'x' } }),
        sote.stream('fal-ai/flux/dev', { input: { prompt: 'x' } }),
        sote.queue.streamStatus('fal-ai/flux/dev', { requestId: 'x' }),
      ].map((p) => (p as Promise<unknown>).then(() => undefined, (e: unknown) => describeError(e))));
      const missing = await sote.queue.streamStatus(endpoint, { requestId: 'no-such-request' }).then(() => undefined, (e: unknown) => describeError(e));
      return { fields, realtime, unknown, missing, queued: await sote.listRequests() };
    }, ENDPOINT);
    expect(r.fields).toEqual({ all: ['body.prompt', 'body.num_images'], prompt: 1, isApi: true, status: 422, requestId: '', timeout: false });
    expect(r.realtime).toMatchObject({ name: 'RealtimeUnavailableError', status: 404, isApi: true });
    expect(r.realtime!.message).toMatch(/fal\.realtime is not available for this endpoint/);
    for (const u of r.unknown) expect(u).toMatchObject({ status: 404, name: 'UnknownEndpointError' });
    expect(r.missing).toMatchObject({ status: 404, name: 'RequestNotFoundError', requestId: 'no-such-request' });
    expect(r.queued).toEqual([]);
  });

  it('run resolves with { data, requestId }; its abortSignal cancels the request', async () => {
    onTestFailed(() => browser?.printLogs('browser log (run)'));
    const r = await page().evaluate(async ([endpoint, tiny, long]) => {
      const sote = window.sote!;
      const ran = await sote.run(endpoint, { input: { prompt: 'run', ...tiny, seed: 5 }, method: 'post', storageSettings: { expiresIn: '1h' } });
      const status = await sote.queue.status(endpoint, { requestId: ran.requestId });
      const controller = new AbortController();
      // A long request: a 4 + 4-step one can finish within the 30 ms on an idle machine (seen in CI).
      const aborted = sote.run(endpoint, { input: { prompt: 'run aborted', ...long }, abortSignal: controller.signal });
      setTimeout(() => controller.abort(), 30);
      const err = await aborted.then(() => undefined, (e: unknown) => window.soteApiTest!.describeError(e));
      const ids = await sote.listRequests();
      const last = await sote.queue.subscribeToStatus(endpoint, { requestId: ids[ids.length - 1], logs: true });
      return { ran, status, err, last };
    }, [ENDPOINT, TINY, BLOCKER] as const);
    expect(r.ran.data.images).toEqual([{ url: expect.stringMatching(/^blob:/), width: 256, height: 256, content_type: 'image/png' }]);
    expect(r.ran.data.seed).toBe(5);
    expect(r.status).toMatchObject({
      status: 'COMPLETED', request_id: r.ran.requestId,
      response_url: `sote:queue/${ENDPOINT}/requests/${r.ran.requestId}`, status_url: `sote:queue/${ENDPOINT}/requests/${r.ran.requestId}/status`,
      cancel_url: `sote:queue/${ENDPOINT}/requests/${r.ran.requestId}/cancel`,
    });
    expect(r.err?.name).toBe('AbortError');
    expect(r.last).toMatchObject({ status: 'COMPLETED', error_type: 'GenerationCancelledError' });
    expect(r.last.logs.some((l) => /^aborted by the caller \(abortSignal\)/.test(l.message))).toBe(true);
  });

  it('stream: statuses with logs, every step and a Stage C preview per step, then done() = the output', async () => {
    onTestFailed(() => browser?.printLogs('browser log (stream)'));
    const r = await page().evaluate(async ([endpoint, tiny]) => {
      const stream = await window.sote!.stream(endpoint, { input: { prompt: 'streamed', ...tiny, num_images: 2, seed: 3 } });
      const heard: string[] = [];
      const doneHeard: unknown[] = [];
      stream.on('data', (e) => heard.push('status' in e ? e.status : e.type));
      stream.on('done', (o) => doneHeard.push(o.seed));
      const iterated: SoteStreamEvent[] = [];
      for await (const e of stream) iterated.push(e);
      const output = await stream.done();
      const previews = iterated.filter((e): e is Extract<SoteStreamEvent, { type: 'preview' }> => 'type' in e && e.type === 'preview')
        .map((p) => ({ step: p.step, width: p.width, height: p.height, bytes: p.rgb.length, nonZero: p.rgb.some((v) => v !== 0) }));
      const statuses = iterated.filter((e): e is QueueStatus => 'status' in e);
      return { requestId: stream.requestId, heard: heard.length, doneHeard, iterated: iterated.map((e) => ('status' in e ? e.status : e.type === 'step' ? `step ${e.stage} ${e.step}/${e.steps}` : `preview ${e.step}`)), previews, statuses, output };
    }, [ENDPOINT, TINY] as const);
    console.log(`stream events: ${r.iterated.filter((e, i, a) => i === 0 || a[i - 1] !== e).join(', ')}`);
    expect(r.heard).toBe(r.iterated.length);
    expect(r.doneHeard).toEqual([3]);
    for (const s of r.statuses) expect(s.request_id).toBe(r.requestId);
    expect(r.statuses[r.statuses.length - 1]).toMatchObject({ status: 'COMPLETED', metrics: { inference_time: expect.any(Number) } });
    const last = r.statuses[r.statuses.length - 1];
    expect(last.status === 'COMPLETED' && last.logs.length).toBeGreaterThan(5);
    for (const step of ['step prior 1/4', 'step prior 4/4', 'step decoder 1/4', 'step decoder 4/4']) expect(r.iterated).toContain(step);
    expect(r.iterated.indexOf('step prior 1/4')).toBeLessThan(r.iterated.indexOf('step decoder 1/4'));
    expect(r.previews.map((p) => p.step)).toEqual([1, 2, 3, 4]);
    for (const p of r.previews) {
      expect(p.width * p.height * 3 * 2).toBe(p.bytes); // two images side by side, RGB
      expect(p.nonZero).toBe(true);
    }
    expect(r.output.images).toHaveLength(2);
    expect(r.output.seed).toBe(3);
  });

  it('stream.abort() cancels the request at once; done() rejects; no error event', async () => {
    onTestFailed(() => browser?.printLogs('browser log (stream abort)'));
    const r = await page().evaluate(async ([endpoint, tiny]) => {
      const stream = await window.sote!.stream(endpoint, { input: { prompt: 'stream aborted', ...tiny } });
      const errors: unknown[] = [];
      stream.on('error', (e) => errors.push(e));
      for await (const e of stream) if ('type' in e && e.type === 'step') stream.abort('enough');
      const done = await stream.done().then(() => 'resolved', (e: unknown) => window.soteApiTest!.describeError(e));
      const status = await window.sote!.queue.subscribeToStatus(endpoint, { requestId: stream.requestId, logs: true });
      return { done, errors: errors.length, status };
    }, [ENDPOINT, TINY] as const);
    expect(r.done).toMatchObject({ name: 'AbortError', message: 'enough' });
    expect(r.errors).toBe(0);
    expect(r.status).toMatchObject({ status: 'COMPLETED', error_type: 'GenerationCancelledError' });
    expect(r.status.logs.some((l) => /^stream aborted/.test(l.message))).toBe(true);
  });

  it('queue.streamStatus: each status change as a stream, done() = COMPLETED; abort() stops only the updates', async () => {
    onTestFailed(() => browser?.printLogs('browser log (streamStatus)'));
    const r = await page().evaluate(async ([endpoint, tiny]) => {
      const sote = window.sote!;
      const blocker = (await sote.queue.submit(endpoint, { input: { prompt: 'blocker', ...tiny } })).request_id;
      const watched = (await sote.queue.submit(endpoint, { input: { prompt: 'watched', ...tiny } })).request_id;
      const stream = await sote.queue.streamStatus(endpoint, { requestId: watched, logs: true });
      const early = await sote.queue.streamStatus(endpoint, { requestId: blocker });
      const earlyEvents: string[] = [];
      early.on('data', (s) => earlyEvents.push(s.status));
      early.abort();
      const seen: string[] = [];
      for await (const s of stream) seen.push(s.status === 'IN_QUEUE' ? `IN_QUEUE ${s.queue_position}` : s.status);
      const done = await stream.done();
      const blockerDone = await sote.queue.result(endpoint, { requestId: blocker });
      return { seen, done, earlyEvents, earlyDone: await early.done().then(() => 'resolved', (e: unknown) => window.soteApiTest!.describeError(e).name), blockerImages: blockerDone.data.images.length };
    }, [ENDPOINT, TINY] as const);
    const collapsed = r.seen.filter((s, i, a) => i === 0 || a[i - 1] !== s);
    expect(collapsed).toEqual(['IN_QUEUE 0', 'IN_PROGRESS', 'COMPLETED']);
    expect(r.done).toMatchObject({ status: 'COMPLETED', metrics: { inference_time: expect.any(Number) } });
    expect(r.done.logs.length).toBeGreaterThan(5);
    expect(r.earlyDone).toBe('AbortError');
    expect(r.blockerImages).toBe(1); // aborting its status stream did not cancel it
  });

  it('subscribe options: timeout and startTimeout cancel, priority reorders, the rest accepted; headers WARN once', async () => {
    onTestFailed(() => browser?.printLogs('browser log (options)'));
    const warnsBefore = browser!.logs.filter((l) => l.includes('headers option is accepted and ignored')).length;
    const r = await page().evaluate(async ([endpoint, tiny, long]) => {
      const sote = window.sote!;
      const { describeError } = window.soteApiTest!;
      const blocker = (await sote.queue.submit(endpoint, { input: { prompt: 'blocker', ...long } })).request_id;
      // Both wait behind the blocker: the timers fire while they are queued.
      let timedOutId = '';
      const timedOut = sote.subscribe(endpoint, { input: { prompt: 'timeout', ...tiny }, timeout: 200, onEnqueue: (id) => void (timedOutId = id) })
        .then(() => undefined, (e: unknown) => describeError(e));
      let lateId = '';
      const late = sote.subscribe(endpoint, { input: { prompt: 'startTimeout', ...tiny }, startTimeout: 0.3, onEnqueue: (id) => void (lateId = id) })
        .then(() => undefined, (e: unknown) => describeError(e));
      const [timeoutErr, startErr] = await Promise.all([timedOut, late]);
      const timedOutStatus = await sote.queue.status(endpoint, { requestId: timedOutId, logs: true });
      const lateStatus = await sote.queue.status(endpoint, { requestId: lateId, logs: true });
      // Priority: a 'low' request lets a later 'normal' one go first.
      const low = await sote.queue.submit(endpoint, { input: { prompt: 'low', ...tiny }, priority: 'low' });
      const normal = await sote.queue.submit(endpoint, { input: { prompt: 'normal', ...tiny }, priority: 'normal' });
      const lowAfter = await sote.queue.status(endpoint, { requestId: low.request_id });
      const order: string[] = [];
      await Promise.all([low, normal].map((s) => sote.queue.result(endpoint, { requestId: s.request_id }).then(() => order.push(s.request_id === low.request_id ? 'low' : 'normal'))));
      // Every other option accepted (and the generation unaffected), headers twice: one WARN.
      const updates: string[] = [];
      const full = await sote.subscribe(endpoint, {
        input: { prompt: 'all options', ...tiny, seed: 9 }, logs: true, mode: 'polling', pollInterval: 100, timeout: 600_000, startTimeout: 600,
        priority: 'normal', storageSettings: { expiresIn: '1d' }, headers: { 'x-one': '1' }, webhookUrl: undefined, onQueueUpdate: (s) => void updates.push(s.status),
      });
      const streaming = await sote.subscribe(endpoint, { input: { prompt: 'streaming mode', ...tiny, seed: 9 }, mode: 'streaming', connectionMode: 'client', headers: { 'x-two': '2' } });
      // subscribeToStatus: abortSignal stops the wait only; timeout cancels.
      const waited = (await sote.queue.submit(endpoint, { input: { prompt: 'waited', ...tiny } })).request_id;
      const controller = new AbortController();
      const stopped = sote.queue.subscribeToStatus(endpoint, { requestId: waited, abortSignal: controller.signal }).then(() => 'resolved', (e: unknown) => describeError(e).name);
      controller.abort();
      const afterStop = await sote.queue.result(endpoint, { requestId: waited });
      const cut = (await sote.queue.submit(endpoint, { input: { prompt: 'cut', ...tiny } })).request_id;
      const cutErr = await sote.queue.subscribeToStatus(endpoint, { requestId: cut, timeout: 1 }).then(() => undefined, (e: unknown) => describeError(e).message);
      const cutStatus = await sote.queue.subscribeToStatus(endpoint, { requestId: cut });
      await sote.queue.result(endpoint, { requestId: blocker });
      return {
        timeoutErr, startErr, timedOutStatus, lateStatus, lowPosition: lowAfter.status === 'IN_QUEUE' ? lowAfter.queue_position : -1, order,
        full: full.data.seed, fullUpdates: [...new Set(updates)], streaming: streaming.data.seed, stopped: await stopped, afterStop: afterStop.data.images.length, cutErr, cutStatus,
      };
    }, [ENDPOINT, TINY, BLOCKER] as const);
    expect(r.timeoutErr).toMatchObject({ name: 'Error', message: 'Client timed out waiting for the request to complete after 200ms' });
    expect(r.timedOutStatus).toMatchObject({ status: 'COMPLETED', error_type: 'GenerationCancelledError' });
    expect(r.timedOutStatus.status !== 'IN_QUEUE' && r.timedOutStatus.logs.some((l) => /^the caller's timeout of 200 ms expired while queued/.test(l.message))).toBe(true);
    expect(r.startErr).toMatchObject({ name: 'StartTimeoutError', status: 504, timeoutType: 'user' });
    expect(r.startErr!.message).toMatch(/did not start within its startTimeout of 0.3 s/);
    expect(r.lateStatus).toMatchObject({ status: 'COMPLETED', error_type: 'GenerationCancelledError' });
    expect(r.lateStatus.status !== 'IN_QUEUE' && r.lateStatus.logs.some((l) => /^not started within its startTimeout of 0.3 s/.test(l.message))).toBe(true);
    expect(r.lowPosition).toBeGreaterThan(0);
    expect(r.order).toEqual(['normal', 'low']);
    expect(r.full).toBe(9);
    expect(r.streaming).toBe(9);
    expect(r.fullUpdates).toContain('IN_PROGRESS');
    expect(r.fullUpdates[r.fullUpdates.length - 1]).toBe('COMPLETED');
    expect(r.stopped).toBe('AbortError');
    expect(r.afterStop).toBe(1);
    expect(r.cutErr).toBe('Client timed out waiting for the request to complete after 1ms');
    expect(r.cutStatus).toMatchObject({ status: 'COMPLETED', error_type: 'GenerationCancelledError' });
    const warns = browser!.logs.filter((l) => l.includes('headers option is accepted and ignored')).length - warnsBefore;
    expect(warns).toBe(1);
  });

  it('storage.upload gives a blob: URL of the bytes; streaming.stream is stream; subscribe POSTs to its webhookUrl', async () => {
    onTestFailed(() => browser?.printLogs('browser log (upload, streaming, webhook)'));
    const bodies: WebhookBody[] = [];
    const hook = createServer((req, res) => {
      res.setHeader('Access-Control-Allow-Origin', '*');
      res.setHeader('Access-Control-Allow-Headers', 'Content-Type');
      if (req.method === 'OPTIONS') return void res.writeHead(204).end();
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as WebhookBody);
        res.writeHead(200).end('{}');
      });
    });
    await new Promise<void>((ok) => hook.listen(0, '127.0.0.1', () => ok()));
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    try {
      const r = await page().evaluate(async ([endpoint, tiny, url]) => {
        const sote = window.sote!;
        const uploaded = await sote.storage.upload(new Blob(['hello sote'], { type: 'text/plain' }), { lifecycle: { expiresIn: '1h' } });
        const text = await (await fetch(uploaded)).text();
        const stream = await sote.streaming.stream(endpoint, { input: { prompt: 'streaming.stream', ...tiny, seed: 17 } });
        let steps = 0;
        stream.on('data', (e) => void ('type' in e && e.type === 'step' && steps++));
        const output = await stream.done();
        const hooked = await sote.subscribe(endpoint, { input: { prompt: 'hooked', ...tiny, seed: 18 }, webhookUrl: url });
        return { uploaded, text, seed: output.seed, steps, hookedId: hooked.requestId };
      }, [ENDPOINT, TINY, hookUrl] as const);
      expect(r.uploaded).toMatch(/^blob:/);
      expect(r.text).toBe('hello sote');
      expect(r.seed).toBe(17);
      expect(r.steps).toBe(8); // 4 Stage C + 4 Stage B
      for (let i = 0; i < 50 && !bodies.some((b) => b.request_id === r.hookedId); i++) await new Promise((ok) => setTimeout(ok, 100));
      expect(bodies.find((b) => b.request_id === r.hookedId)).toMatchObject({ status: 'OK', payload: { seed: 18, prompt: 'hooked' } });
    } finally {
      await new Promise<void>((ok) => hook.close(() => ok()));
    }
  });

  it('createFalClient(config): a second client with its own worker generates; server-only config options WARN once', async () => {
    onTestFailed(() => browser?.printLogs('browser log (createFalClient)'));
    const r = await page().evaluate(async ([endpoint, tiny]) => {
      const client = window.soteApiTest!.createFalClient({ credentials: () => 'hf_from_a_function', proxyUrl: '/api/fal/proxy' });
      client.config({ credentials: 'hf_again', retry: { maxRetries: 2 } });
      const result = await client.subscribe(endpoint, { input: { prompt: 'second client', ...tiny, seed: 21 } });
      return { seed: result.data.seed, images: result.data.images.length, ownHistory: await client.listRequests(), inDefault: (await window.sote!.listRequests()).includes(result.requestId), requestId: result.requestId };
    }, [ENDPOINT, TINY] as const);
    expect(r).toMatchObject({ seed: 21, images: 1, inDefault: false });
    expect(r.ownHistory).toEqual([r.requestId]);
    expect(browser!.logs.filter((l) => /config\(.*\) accepted and ignored/.test(l))).toHaveLength(1);
  });
});
