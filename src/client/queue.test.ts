/**
 * RequestQueue without a browser: a fake runner (no worker) and an in-memory store stand in for the generator
 * and IndexedDB, so ordering, failure and resume rules are checked fast. The real thing runs in e2e/api-queue.
 */
import { describe, expect, it } from 'vitest';
import { DeviceLostError, ModelLoadError, SoteError } from './errors.ts';
import type { GenerateResult, WorkerEvent, WorkerGenerateRequest } from './protocol.ts';
import { RequestQueue } from './queue.ts';
import type { RequestRecord, RequestStore, StoredOutput } from './request-store.ts';

function memoryStore(): RequestStore & { records: Map<string, RequestRecord>; results: Map<string, StoredOutput> } {
  const records = new Map<string, RequestRecord>();
  const results = new Map<string, StoredOutput>();
  return {
    records,
    results,
    loadAll: async () => [...records.values()].map((r) => structuredClone(r)),
    putRecord: async (r) => void records.set(r.id, structuredClone(r)),
    putResult: async (id, o) => void results.set(id, o),
    getResult: async (id) => results.get(id),
    remove: async (id) => void (records.delete(id), results.delete(id)),
  };
}

/** Runs "generations" that resolve when the test says so; `fail` makes the next run reject with that error. */
function fakeRunner() {
  const started: WorkerGenerateRequest[] = [];
  const finishers: (() => void)[] = [];
  let fail: Error | undefined;
  return {
    started,
    finishNext: () => finishers.shift()?.(),
    failNext: (e: Error) => void (fail = e),
    modelName: 'fake',
    run(request: WorkerGenerateRequest, o: { onEvent: (e: WorkerEvent) => void }): Promise<GenerateResult> {
      started.push(request);
      if (fail) {
        const e = fail;
        fail = undefined;
        return Promise.reject(e);
      }
      o.onEvent({ type: 'stage-start', stage: 'prior' });
      return new Promise((resolve) => finishers.push(() => resolve({
        images: Array.from({ length: request.numImages ?? 1 }, () => ({ width: request.width, height: request.height, rgb: new Uint8Array(request.width * request.height * 3) })),
        seed: BigInt(request.seed ?? 0),
        timings: { text_encoder: 0.1, prior: 0.2, decoder: 0.3, vqgan: 0.4, inference: 1 },
        readbacks: 1,
        hasNsfwConcepts: Array.from({ length: request.numImages ?? 1 }, () => false),
        backend: 'wasm',
      })));
    },
  };
}

const tick = () => new Promise((r) => setTimeout(r, 0));
const input = (prompt: string, extra: Record<string, unknown> = {}) => ({ prompt, image_size: { width: 256, height: 256 }, ...extra });
const E = 'fal-ai/stable-cascade/sote-diffusion';

describe('RequestQueue', () => {
  it('runs in submission order, one at a time, with positions counting queued requests ahead', async () => {
    const runner = fakeRunner();
    const q = new RequestQueue({ runner, store: memoryStore(), credentials: () => undefined });
    const ids = [];
    for (const p of ['a', 'b', 'c']) ids.push((await q.submit(E, input(p))).request_id);
    await tick();
    expect(runner.started.map((r) => r.prompt)).toEqual(['a']);
    expect(runner.started[0].enableSafetyChecker).toBe(true); // the hosted default reaches the worker
    expect(await q.status(ids[2])).toMatchObject({ status: 'IN_QUEUE', queue_position: 1, request_id: ids[2] });
    runner.finishNext();
    await (await q.result(ids[0])).data;
    await tick();
    expect(runner.started.map((r) => r.prompt)).toEqual(['a', 'b']);
    expect(await q.status(ids[2])).toMatchObject({ queue_position: 0 });
  });

  it('a failure is COMPLETED with the error; result() rejects with the same class; the queue goes on', async () => {
    const runner = fakeRunner();
    const store = memoryStore();
    const q = new RequestQueue({ runner, store, credentials: () => undefined });
    runner.failNext(new DeviceLostError('test'));
    const bad = (await q.submit(E, input('x'))).request_id;
    const good = (await q.submit(E, input('y'))).request_id;
    await expect(q.result(bad)).rejects.toBeInstanceOf(DeviceLostError);
    expect(await q.status(bad, true)).toMatchObject({ status: 'COMPLETED', error_type: 'DeviceLostError', metrics: { inference_time: null } });
    await tick();
    runner.finishNext();
    expect((await q.result(good)).data.images).toHaveLength(1);
    // After a "reload" the error keeps its class.
    const q2 = new RequestQueue({ runner, store, credentials: () => undefined });
    const e = await q2.result(bad).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DeviceLostError);
    expect((e as SoteError).remedy).toMatch(/new worker with a new device and retries once/);
    const plain = new RequestQueue({ runner: { ...fakeRunner(), run: () => Promise.reject(new ModelLoadError('u', 'r')) }, store: undefined, credentials: () => undefined });
    const id = (await plain.submit(E, input('z'))).request_id;
    await expect(plain.result(id)).rejects.toBeInstanceOf(ModelLoadError);
  });

  it('resumes queued and running requests after a reload, in order, with the seed fixed at submission; sync_mode is not stored', async () => {
    const store = memoryStore();
    const first = fakeRunner();
    const q1 = new RequestQueue({ runner: first, store, credentials: () => undefined });
    const ids = [];
    for (const p of ['r1', 'r2']) ids.push((await q1.submit(E, input(p))).request_id);
    const sync = (await q1.submit(E, input('s', { sync_mode: true }))).request_id;
    await tick();
    expect(store.records.has(sync)).toBe(false);
    const seed = store.records.get(ids[0])!.seed;
    // "Page closed" while r1 runs: a new queue on the same store.
    const second = fakeRunner();
    const q2 = new RequestQueue({ runner: second, store, credentials: () => undefined });
    await q2.ready;
    await tick();
    expect(second.started.map((r) => [r.prompt, r.seed])).toEqual([['r1', seed]]);
    second.finishNext();
    await q2.result(ids[0]);
    await tick();
    second.finishNext();
    const r2 = await q2.result(ids[1]);
    expect(r2.data.images[0].url).toMatch(/^blob:/);
    expect((await q2.status(ids[0], true)).status).toBe('COMPLETED');
    await expect(q2.status(sync)).rejects.toMatchObject({ status: 404 });
  });
});
