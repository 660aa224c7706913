/**
 * The request queue behind `sote.queue`: the client owns it, the generator worker does one generation at a time.
 *
 * Invariants:
 * - requests start one at a time, in submission order (seq); a request is 'running' from its start (model
 *   loading included) until it is done or failed;
 * - IN_QUEUE's queue_position = number of queued requests that start before it (0 = next to start): requests
 *   start in submission order, except that a 'low' priority request lets every later 'normal' one go first;
 * - every non-sync request is persisted (./request-store.ts): state changes are written at once, log lines
 *   within LOG_SAVE_DELAY_MS; on start, records left 'queued' or 'running' by a closed page are queued again,
 *   in their original order, with the seed fixed at submission (same image as the interrupted run would give);
 * - a failed or cancelled request is COMPLETED with `error`; `result()` rejects with the error rebuilt from the
 *   record (SoteErrors keep their class, also after a reload);
 * - webhooks are sent after the request is COMPLETED and never delay the next request.
 */
import { GenerationCancelledError } from './errors.ts';
import type { RunOptions } from './generator-runner.ts';
import type { GenerateResult, WorkerEvent, WorkerGenerateRequest } from './protocol.ts';
import { parseInput, randomSeed, toGenerationRequest } from './input-schema.ts';
import { blobToDataUri, encodeImages, pngParameters } from './output-images.ts';
import { requestUrls, type CompletedStatus, type OutputImage, type OutputTimings, type QueueStatus, type RequestLog, type SoteOutput, type SoteResult, type SubmitResult, type WebhookBody } from './queue-types.ts';
import { eventLogLine, logLine, timingsLine } from './request-logs.ts';
import { fromStoredError, toStoredError, type RequestRecord, type RequestStore, type StoredOutput } from './request-store.ts';
import { RequestNotFoundError } from './api-errors.ts';
import { deliverWebhook, type WebhookOptions } from './webhook.ts';

const LOG_SAVE_DELAY_MS = 300;

interface Entry {
  record: RequestRecord;
  /** false for sync_mode requests (kept in memory for this page only). */
  persist: boolean;
  /** The output while in memory (sync requests always; others once produced or read back). */
  output?: StoredOutput;
  /** Output with URLs, made once per page (blob: URLs stay valid while the page lives). */
  resolved?: SoteOutput;
  abort?: AbortController;
  listeners: Set<() => void>;
  /** Listeners for the worker's events of this request while it runs (streams: steps and previews). */
  watchers: Set<(event: WorkerEvent) => void>;
  saveTimer?: ReturnType<typeof setTimeout>;
}

export interface QueueRunner {
  run(request: WorkerGenerateRequest, options: RunOptions): Promise<GenerateResult>;
  /** Name of the loaded model package (PNG metadata). */
  readonly modelName: string | undefined;
}

export interface SubmitExtras {
  previews?: boolean;
  priority?: 'low' | 'normal';
}

export interface QueueOptions {
  /** Runs one generation with the client's model (createSoteClient binds a GeneratorRunner to its model source). */
  runner: QueueRunner;
  /** undefined: memory only (nothing survives a reload). */
  store: RequestStore | undefined;
  webhook?: WebhookOptions;
  credentials: () => string | undefined;
}

export class RequestQueue {
  private readonly entries = new Map<string, Entry>();
  private readonly pending: string[] = [];
  private running: string | undefined;
  private nextSeq = 0;
  /** Restoring from the store; every public method waits for it. */
  readonly ready: Promise<void>;

  constructor(private readonly options: QueueOptions) {
    this.ready = this.restore();
  }

  private async restore(): Promise<void> {
    const store = this.options.store;
    if (!store) return;
    const records = (await store.loadAll()).sort((a, b) => a.seq - b.seq);
    for (const record of records) {
      const entry: Entry = { record, persist: true, listeners: new Set(), watchers: new Set() };
      this.entries.set(record.id, entry);
      this.nextSeq = Math.max(this.nextSeq, record.seq + 1);
      if (record.state === 'queued' || record.state === 'running') {
        const was = record.state;
        record.state = 'queued';
        delete record.startedAt;
        this.addLog(entry, logLine('INFO', `page reloaded while the request was ${was === 'running' ? 'running' : 'queued'}: queued again`));
        this.enqueue(entry);
        void this.save(entry);
      }
    }
    queueMicrotask(() => this.pump());
  }

  // ---- public operations -------------------------------------------------------------------------------------

  /**
   * Validates (ValidationError 422 before any work) and queues a request. `previews`: the generation reports live
   * Stage C previews (to watch()ers); `priority` 'low' lets later 'normal' requests start first.
   */
  async submit(endpointId: string, rawInput: unknown, webhookUrl?: string, extra: SubmitExtras = {}): Promise<SubmitResult> {
    const { input, unknownFields } = parseInput(rawInput, endpointId);
    await this.ready;
    const id = crypto.randomUUID();
    const record: RequestRecord = {
      id,
      seq: this.nextSeq++,
      endpointId,
      input,
      seed: input.seed ?? randomSeed(),
      webhookUrl,
      ...(extra.previews ? { previews: true } : {}),
      ...(extra.priority === 'low' ? { priority: 'low' as const } : {}),
      state: 'queued',
      logs: [],
      submittedAt: new Date().toISOString(),
    };
    const entry: Entry = { record, persist: !input.sync_mode, listeners: new Set(), watchers: new Set() };
    this.entries.set(id, entry);
    if (unknownFields.length) {
      const message = `unknown input field(s) ignored: ${unknownFields.join(', ')}`;
      console.warn(`sote request ${id}: ${message}`);
      this.addLog(entry, logLine('WARN', message));
    }
    const position = this.enqueue(entry);
    this.addLog(entry, logLine('INFO', `request queued at position ${position}${input.sync_mode ? ' (sync_mode: not kept in history)' : ''}`));
    queueMicrotask(() => this.pump());
    // Durable before the caller learns the id: a page closed right after submit still resumes this request.
    await this.save(entry);
    return { status: 'IN_QUEUE', queue_position: position, request_id: id, ...requestUrls(endpointId, id) };
  }

  async status(requestId: string, logs = false): Promise<QueueStatus> {
    await this.ready;
    return this.statusOf(this.get(requestId), logs);
  }

  /**
   * Calls onQueueUpdate with the current status and on every change; resolves with the COMPLETED status. Aborting
   * `signal` stops the updates and rejects with its reason (the request goes on).
   */
  async subscribeToStatus(requestId: string, logs = false, onQueueUpdate?: (status: QueueStatus) => void, signal?: AbortSignal): Promise<CompletedStatus> {
    await this.ready;
    const entry = this.get(requestId);
    signal?.throwIfAborted();
    return new Promise<CompletedStatus>((resolve, reject) => {
      const check = () => {
        const status = this.statusOf(entry, logs);
        try {
          onQueueUpdate?.(status);
        } catch (e) {
          console.error('onQueueUpdate threw', e);
        }
        if (status.status === 'COMPLETED') {
          entry.listeners.delete(check);
          signal?.removeEventListener('abort', stop);
          resolve(status);
        }
      };
      const stop = () => {
        entry.listeners.delete(check);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', stop, { once: true });
      entry.listeners.add(check);
      check();
    });
  }

  /** Waits for the request to end; resolves with its output or rejects with the error it ended with. */
  async result(requestId: string): Promise<SoteResult> {
    await this.ready;
    const entry = this.get(requestId);
    await this.completion(entry);
    const { record } = entry;
    if (record.state === 'failed') throw fromStoredError(record.error ?? { name: 'Error', message: 'the request failed' });
    return { data: await this.resolvedOutput(entry), requestId };
  }

  /**
   * Listens to the worker's events for this request while it runs (step, preview, …); returns the unsubscribe.
   * Events before the call are not replayed (status() has them as log lines).
   */
  watch(requestId: string, listener: (event: WorkerEvent) => void): () => void {
    const entry = this.get(requestId);
    entry.watchers.add(listener);
    return () => entry.watchers.delete(listener);
  }

  /**
   * Cancels a queued or running request (it becomes COMPLETED with a GenerationCancelledError); no effect once
   * ended. `why` is logged (default: "cancelled").
   */
  async cancel(requestId: string, why = 'cancelled'): Promise<void> {
    await this.ready;
    const entry = this.get(requestId);
    const { record } = entry;
    if (record.state === 'queued') {
      this.pending.splice(this.pending.indexOf(requestId), 1);
      this.fail(entry, new GenerationCancelledError(), `${why} while queued`);
      this.notifyAll();
    } else if (record.state === 'running') {
      this.addLog(entry, logLine('INFO', `${why}: the generation stops at its next network call`));
      entry.abort?.abort(new GenerationCancelledError());
    }
  }

  /** Every known request id in submission order (history; sync requests of this page included). */
  async list(): Promise<string[]> {
    await this.ready;
    return [...this.entries.values()].sort((a, b) => a.record.seq - b.record.seq).map((e) => e.record.id);
  }

  // ---- running -----------------------------------------------------------------------------------------------

  private pump(): void {
    if (this.running !== undefined) return;
    const id = this.pending.shift();
    if (id === undefined) return;
    const entry = this.entries.get(id);
    if (!entry) return this.pump();
    this.running = id;
    this.notifyAll(); // every queued request moved up one position
    void this.execute(entry).finally(() => {
      this.running = undefined;
      this.pump();
    });
  }

  private async execute(entry: Entry): Promise<void> {
    const { record } = entry;
    const controller = new AbortController();
    entry.abort = controller;
    record.state = 'running';
    record.startedAt = new Date().toISOString();
    this.addLog(entry, logLine('INFO', `request started (seed ${record.seed})`));
    void this.save(entry);
    try {
      const request: WorkerGenerateRequest = {
        ...toGenerationRequest(record.input, record.seed),
        enableSafetyChecker: record.input.enable_safety_checker,
        ...(record.previews ? { preview: { every: 1 } } : {}),
      };
      const generated = await this.options.runner.run(request, {
        signal: controller.signal,
        endpointId: record.endpointId,
        credentials: this.options.credentials(),
        onEvent: (e) => {
          const line = eventLogLine(e);
          if (line) this.addLog(entry, line);
          for (const watcher of [...entry.watchers]) watcher(e);
        },
      });
      if (controller.signal.aborted) throw new GenerationCancelledError();
      const timings: OutputTimings = {
        text_encoder: generated.timings.text_encoder,
        prior: generated.timings.prior,
        decoder: generated.timings.decoder,
        vqgan: generated.timings.vqgan,
        safety_checker: generated.timings.safety_checker ?? 0,
        inference: generated.timings.inference,
      };
      const seed = Number(generated.seed);
      const model = this.options.runner.modelName ?? 'unknown';
      const output: StoredOutput = {
        images: encodeImages(generated.images, (img) => pngParameters(record.input, seed, img.width, img.height, model)),
        timings,
        seed,
        has_nsfw_concepts: generated.hasNsfwConcepts,
        prompt: record.input.prompt,
      };
      // Committed-record order: the result is stored before the record says 'done'.
      if (entry.persist && this.options.store) await this.options.store.putResult(record.id, output);
      entry.output = output;
      // Last lines first, then the state: a listener that sees COMPLETED sees every line.
      this.addLog(entry, timingsLine(timings));
      this.addLog(entry, logLine('INFO', `completed: ${output.images.length} image(s) ${output.images.map((i) => `${i.width}×${i.height}`).join(', ')}, seed ${seed}`));
      record.state = 'done';
      record.completedAt = new Date().toISOString();
      record.inferenceTime = timings.inference;
      void this.save(entry);
      this.notify(entry);
    } catch (e) {
      this.fail(entry, e, 'failed');
    } finally {
      entry.abort = undefined;
    }
    void this.sendWebhook(entry);
  }

  private fail(entry: Entry, e: unknown, what: string): void {
    const { record } = entry;
    const error = toStoredError(e);
    // The line before the state (see execute).
    this.addLog(entry, logLine(e instanceof GenerationCancelledError ? 'INFO' : 'ERROR', `${what}: ${error.name}: ${error.message}`));
    record.state = 'failed';
    record.completedAt = new Date().toISOString();
    record.error = error;
    void this.save(entry);
    this.notify(entry);
    // A running request's webhook is sent by execute() once it has finished; a queued one ends here.
    if (this.running !== record.id) void this.sendWebhook(entry);
  }

  private async sendWebhook(entry: Entry): Promise<void> {
    const { record } = entry;
    if (!record.webhookUrl) return;
    let body: WebhookBody;
    if (record.state === 'done') {
      const data = await this.resolvedOutput(entry);
      // blob: URLs mean nothing to a server: the payload carries the images as data: URIs.
      const images = await Promise.all((entry.output?.images ?? []).map(async (img, i) => ({ ...data.images[i], url: await blobToDataUri(img.blob) })));
      body = { request_id: record.id, gateway_request_id: record.id, status: 'OK', payload: { ...data, images } };
    } else {
      const error = record.error ?? { name: 'Error', message: 'the request failed' };
      body = { request_id: record.id, gateway_request_id: record.id, status: 'ERROR', payload: { detail: error.message, error_type: error.name }, error: error.message };
    }
    await deliverWebhook(record.webhookUrl, body, (level, message) => this.addLog(entry, logLine(level, message)), this.options.webhook);
  }

  // ---- helpers -----------------------------------------------------------------------------------------------

  /** Puts a request in the start order (before the first 'low' one unless it is 'low' itself); its position. */
  private enqueue(entry: Entry): number {
    const firstLow = entry.record.priority === 'low' ? -1 : this.pending.findIndex((id) => this.entries.get(id)?.record.priority === 'low');
    const position = firstLow < 0 ? this.pending.length : firstLow;
    this.pending.splice(position, 0, entry.record.id);
    return position;
  }

  private get(requestId: string): Entry {
    const entry = this.entries.get(requestId);
    if (!entry) throw new RequestNotFoundError(requestId);
    return entry;
  }

  private statusOf(entry: Entry, withLogs: boolean): QueueStatus {
    const { record } = entry;
    const logs: RequestLog[] = withLogs ? record.logs.map((l) => ({ ...l })) : [];
    const urls = requestUrls(record.endpointId, record.id);
    switch (record.state) {
      case 'queued':
        return { status: 'IN_QUEUE', queue_position: Math.max(0, this.pending.indexOf(record.id)), request_id: record.id, ...urls };
      case 'running':
        return { status: 'IN_PROGRESS', logs, request_id: record.id, ...urls };
      case 'done':
        return { status: 'COMPLETED', logs, metrics: { inference_time: record.inferenceTime ?? null }, request_id: record.id, ...urls };
      case 'failed':
        return {
          status: 'COMPLETED', logs, metrics: { inference_time: null }, request_id: record.id, ...urls,
          error: record.error?.message ?? 'the request failed', error_type: record.error?.name ?? 'Error',
        };
    }
  }

  private completion(entry: Entry): Promise<void> {
    const ended = () => entry.record.state === 'done' || entry.record.state === 'failed';
    if (ended()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const check = () => {
        if (!ended()) return;
        entry.listeners.delete(check);
        resolve();
      };
      entry.listeners.add(check);
    });
  }

  private async resolvedOutput(entry: Entry): Promise<SoteOutput> {
    if (entry.resolved) return entry.resolved;
    const output = entry.output ?? (await this.options.store?.getResult(entry.record.id));
    if (!output) throw new Error(`request ${entry.record.id} is done but its result is missing from IndexedDB (storage cleared?)`);
    entry.output = output;
    const sync = entry.record.input.sync_mode;
    const images: OutputImage[] = await Promise.all(output.images.map(async (img) => ({
      url: sync ? await blobToDataUri(img.blob) : URL.createObjectURL(img.blob),
      width: img.width,
      height: img.height,
      content_type: img.content_type,
    })));
    entry.resolved ??= { images, timings: { ...output.timings }, seed: output.seed, has_nsfw_concepts: [...output.has_nsfw_concepts], prompt: output.prompt };
    return entry.resolved;
  }

  private addLog(entry: Entry, line: RequestLog): void {
    entry.record.logs.push(line);
    this.saveSoon(entry);
    this.notify(entry);
  }

  private notify(entry: Entry): void {
    for (const listener of [...entry.listeners]) listener();
  }

  private notifyAll(): void {
    for (const id of this.pending) {
      const entry = this.entries.get(id);
      if (entry) this.notify(entry);
    }
  }

  /** Writes the record now (state changes); a failed write is reported, never fatal to the request. */
  private save(entry: Entry): Promise<void> {
    if (entry.saveTimer !== undefined) clearTimeout(entry.saveTimer);
    entry.saveTimer = undefined;
    if (!entry.persist || !this.options.store) return Promise.resolve();
    // Writes to one key apply in call order (idb-keyval opens each readwrite transaction in call order and
    // IndexedDB runs overlapping readwrite transactions in creation order), so the last save wins.
    return this.options.store.putRecord(entry.record).catch((e: unknown) => console.error(`sote: could not save request ${entry.record.id}`, e));
  }

  /** Writes the record within LOG_SAVE_DELAY_MS (log lines: one write per burst of steps, not per line). */
  private saveSoon(entry: Entry): void {
    if (!entry.persist || !this.options.store || entry.saveTimer !== undefined) return;
    entry.saveTimer = setTimeout(() => void this.save(entry), LOG_SAVE_DELAY_MS);
  }
}
