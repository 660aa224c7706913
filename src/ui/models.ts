/**
 * The Models panel: catalogue (built-ins, a `?model=<url>` descriptor), hub + token settings, install progress
 * with Cancel/Resume, installed models (size, precision, Delete with storage before/after, Re-verify, Export),
 * and Import (picker + drop zone). All store work runs in the generator worker (ModelStoreApi); this file only
 * renders typed events and results.
 *
 * Invariants:
 * - the hub token lives in this origin's localStorage only and is passed to the worker's install, which sends
 *   it only to the descriptor's hub origin (src/store/install.ts headersFor);
 * - one install at a time (the worker refuses a second); the panel disables Install buttons while one runs;
 * - the list shown is always re-read from the worker after a change (never patched locally), so it matches
 *   IndexedDB's "complete or absent" records.
 */
import {
  SoteError, withInstallEvents, type ByteProgress, type GeneratorClient, type InstallEvent, type InstalledModelInfo,
  type ModelCheckResult, type ModelDescriptor, type PendingInstall, type Precision, type Recommendation, type WorkerEvent,
} from '../client/protocol.ts';
import { credentialsFor } from '../client/generator-runner.ts';
import { formatBytes } from '../core/format-bytes.ts';
// Imported for its side effect too: registering the store's error classes keeps `instanceof` across Comlink.
import { DownloadError, fetchDescriptor, hubFromUrl, IntegrityError, modelFromUrl, modelIdFor, SOTEDIFFUSION_V2, StorageQuotaError, withHub } from '../client/model-catalogue.ts';
import { downloadBlob, h } from './dom.ts';
import { checkInRow } from './model-check-view.ts';

const HUB_KEY = 'sote-hub';
const TOKEN_KEY = 'sote-hub-token';
const PRECISIONS: Precision[] = ['fp32', 'fp16', 'int8', 'int4'];

function formatEta(s: number | undefined): string {
  if (s === undefined) return 'ETA ?';
  if (s < 60) return `ETA ${Math.ceil(s)} s`;
  if (s < 3600) return `ETA ${Math.floor(s / 60)} min ${Math.ceil(s % 60)} s`;
  return `ETA ${Math.floor(s / 3600)} h ${Math.ceil((s % 3600) / 60)} min`;
}

/** "1.2 MiB / 3.4 MiB · 5.6 MiB/s · ETA 3 s" — the one format for file and overall rows. */
export function formatProgress(p: ByteProgress): string {
  return `${formatBytes(p.bytesDone)} / ${formatBytes(p.bytesTotal)} · ${formatBytes(p.bytesPerSecond)}/s · ${formatEta(p.etaSeconds)}`;
}


export interface ModelsPanelOptions {
  client: () => GeneratorClient;
  /** Called with the installed models after every change (the generation selector lists them). */
  onModelsChanged: (models: InstalledModelInfo[]) => void;
  /** Called after an install or import completes: the page selects the new model. */
  onInstalled: (model: InstalledModelInfo) => void;
  /** config({ credentials }) of window.sote: the token when the field is empty (sent to huggingface.co only). */
  configCredentials?: () => string | undefined;
  /**
   * "Test on this device": loads installed model `id` with the page's selected backend in the page's worker (in
   * turn with generations) and checks it (GeneratorRunner.checkModel); `onEvent` gets the worker's events.
   */
  checkModel: (id: string, onEvent: (event: WorkerEvent) => void) => Promise<ModelCheckResult>;
}

interface CatalogueEntry {
  descriptor: ModelDescriptor;
  note: string;
  /** The worker's default precision for it on this device (the one rule lives in the worker). */
  recommended?: Precision;
}

export class ModelsPanel {
  readonly element = h('section', { class: 'models', 'aria-label': 'Models' });
  private readonly env = h('div', { class: 'hint env' }, 'Checking WebGPU…');
  private readonly errorBox = h('div', { class: 'error', hidden: true, role: 'alert' });
  private readonly catalogue = h('div', { class: 'catalogue' });
  private readonly installBox = h('div', { class: 'install-progress', hidden: true });
  private readonly pendingBox = h('div', { class: 'pending' });
  private readonly installedBox = h('div', { class: 'installed' });
  private readonly storageLine = h('div', { class: 'hint storage' });
  private readonly hubEl = h('input', { type: 'url', name: 'hub', placeholder: 'https://huggingface.co' });
  private readonly tokenEl = h('input', { type: 'password', name: 'hub_token', autocomplete: 'off', placeholder: 'hf_… (only for gated or private repos)' });
  private entries: CatalogueEntry[] = [];
  private pending: PendingInstall[] = [];
  private recommendation: Recommendation | undefined;
  private busy = false;
  private cancelled = false;

  constructor(private readonly options: ModelsPanelOptions) {
    const urlHub = safe(() => hubFromUrl(location.href));
    this.hubEl.value = urlHub ?? localStorage.getItem(HUB_KEY) ?? '';
    if (urlHub) this.hubEl.disabled = true; // ?hub= wins for this page load; the stored setting is untouched
    this.tokenEl.value = localStorage.getItem(TOKEN_KEY) ?? '';
    this.hubEl.addEventListener('change', () => { localStorage.setItem(HUB_KEY, this.hubEl.value.trim()); void this.renderCatalogue(); });
    this.tokenEl.addEventListener('change', () => localStorage.setItem(TOKEN_KEY, this.tokenEl.value.trim()));

    const fileInput = h('input', { type: 'file', multiple: true, name: 'import', accept: '.safetensors,.tar,.json,.txt' });
    fileInput.addEventListener('change', () => { if (fileInput.files?.length) void this.importFiles([...fileInput.files]); fileInput.value = ''; });
    const drop = h('div', { class: 'dropzone', tabindex: 0 },
      'Drop .safetensors checkpoints + tokenizer files (vocab.json, merges.txt…) and, optionally, the safety checker\'s three files — or an exported .tar — here');
    drop.addEventListener('dragover', (e) => { e.preventDefault(); e.stopPropagation(); drop.classList.add('over'); });
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    drop.addEventListener('drop', (e) => {
      // Stop here: the page's document-level drop handler reads PNG parameters.
      e.preventDefault();
      e.stopPropagation();
      drop.classList.remove('over');
      const files = [...(e.dataTransfer?.files ?? [])];
      if (files.length) void this.importFiles(files);
    });

    this.element.append(
      h('h2', {}, 'Models'),
      this.env,
      this.errorBox,
      // A form of its own (never submitted) so the password field is where browsers expect it.
      h('form', { class: 'hub-settings', onsubmit: (e: Event) => e.preventDefault() }, h('details', {},
        h('summary', {}, 'Hub and access token'),
        h('label', {}, 'Hub base URL (a mirror or self-hosted hub; ?hub= overrides it)', this.hubEl),
        h('label', {}, 'Access token', this.tokenEl),
        h('span', { class: 'hint' }, 'Stored only in this browser (localStorage) and sent only to the hub above, as an Authorization header on its downloads — never to this site or anyone else.'))),
      this.catalogue,
      this.installBox,
      this.pendingBox,
      h('h3', {}, 'Installed'),
      this.installedBox,
      this.storageLine,
      h('h3', {}, 'Import'),
      h('label', {}, 'Pick files', fileInput),
      drop,
    );
  }

  /** First render: recommendation, catalogue (fetches a ?model=<url> descriptor), lists. */
  async init(): Promise<void> {
    await Promise.all([
      this.options.client().recommend().then((r) => { this.recommendation = r; this.renderEnv(); }).catch((e: unknown) => this.showError(e)),
      this.renderCatalogue(),
      this.refresh(),
    ]);
  }

  private hub(): string | undefined {
    const v = this.hubEl.value.trim();
    return v === '' ? undefined : v;
  }

  private renderEnv(): void {
    const r = this.recommendation;
    if (!r) return;
    const gpu = r.backend === 'webgpu'
      ? `WebGPU: ${r.adapter?.description || r.adapter?.vendor || 'adapter'}${r.adapter?.shaderF16 ? ' (shader-f16)' : ' (no shader-f16)'}`
      : `WebGPU unavailable — ${r.webgpuUnavailable ?? 'no adapter'}. Generation runs on the CPU (WASM): slower, and large models need int8/int4. Remedy: use a browser with WebGPU enabled (Chrome/Edge 113+, Safari 26+, Firefox 141+ on Windows) and up-to-date GPU drivers.`;
    this.env.textContent = `${gpu.replace(/\.$/, '')}. Large models default to ${r.precision} here (${r.precisionReason}).`;
  }

  private async renderCatalogue(): Promise<void> {
    const hub = this.hub();
    let hubbed = SOTEDIFFUSION_V2;
    try {
      if (hub) hubbed = withHub(SOTEDIFFUSION_V2, hub);
    } catch (e) {
      this.showError(e);
    }
    const entries: CatalogueEntry[] = [{ descriptor: hubbed, note: 'the default model; needs a GPU with enough memory for fp16, or int8/int4' }];
    try {
      const choice = modelFromUrl(location.href, hub);
      if (choice.kind === 'url') entries.push({ descriptor: await fetchDescriptor(choice.url, choice.hub), note: `from ${choice.url}` });
      // Another built-in hub model (?model=stable-cascade / stable-cascade-lite); the tiny demo is no store entry.
      else if (choice.descriptor.id !== hubbed.id && choice.descriptor.source.kind === 'checkpoints') entries.push({ descriptor: choice.descriptor, note: `built in (?model=${choice.descriptor.id})` });
    } catch (e) {
      this.showError(e);
    }
    await Promise.all(entries.map(async (e) => {
      e.recommended = (await this.options.client().recommend(e.descriptor).catch(() => undefined))?.precision;
    }));
    this.entries = entries;
    this.drawCatalogue();
  }

  private drawCatalogue(): void {
    const rows = this.entries.map(({ descriptor: d, note, recommended: rec }) => {
      const sizes = PRECISIONS.filter((p) => d.sizes[p] !== undefined);
      const offered = sizes.length ? sizes : PRECISIONS;
      const recommended = rec ?? offered[0];
      const select = h('select', { name: `precision-${d.id}`, id: `precision-${d.id}` },
        ...offered.map((p) => h('option', { value: p }, `${p} — ${d.sizes[p] !== undefined ? formatBytes(d.sizes[p]) : 'size unknown'}${p === recommended ? ' (recommended here)' : ''}`)));
      select.value = offered.includes(recommended) ? recommended : offered[0];
      const button = h('button', { type: 'button', class: 'install', 'data-model': d.id, disabled: this.busy }, '');
      const label = () => { button.textContent = this.pending.some((p) => p.modelId === modelIdFor(d, select.value as Precision)) ? 'Resume' : 'Install'; };
      label();
      select.addEventListener('change', label);
      button.addEventListener('click', () => void this.install(d, select.value as Precision));
      return h('div', { class: 'entry', 'data-model': d.id },
        h('strong', {}, d.name), h('span', { class: 'hint' }, `${d.description ?? ''} (${note})`),
        h('div', { class: 'row' }, h('label', { for: select.id, class: 'visually-hidden' }, `Precision of ${d.name}`), select, button));
    });
    this.catalogue.replaceChildren(
      h('h3', {}, 'Catalogue'),
      h('div', { class: 'entry' }, h('strong', {}, 'Tiny demo (built in)'), h('span', { class: 'hint' }, 'Always available, nothing to download: random weights that check everything runs.')),
      ...rows);
  }

  /** Re-reads installed and pending models and storage usage from the worker / the browser. */
  async refresh(): Promise<InstalledModelInfo[]> {
    const client = this.options.client();
    const [models, pending] = await Promise.all([client.listModels(), client.listPendingInstalls()]);
    this.pending = pending;
    this.drawCatalogue();
    this.pendingBox.replaceChildren(...(pending.length ? [h('h3', {}, 'Unfinished installs')] : []),
      ...pending.map((p) => h('div', { class: 'row pending-install', 'data-model': p.modelId },
        h('span', {}, `${p.name} (${p.precision}) — started ${new Date(p.startedAt).toLocaleString()}; finished parts are kept`),
        h('button', { type: 'button', class: 'resume', disabled: this.busy, onclick: () => void this.install(p.descriptor, p.precision) }, 'Resume'),
        h('button', { type: 'button', disabled: this.busy, onclick: () => void this.remove(p.modelId) }, 'Discard'))));
    this.installedBox.replaceChildren(
      ...(models.length ? [] : [h('span', { class: 'hint' }, 'None yet — install one above, or import files below.')]),
      ...models.map((m) => h('div', { class: 'installed-model row', 'data-model': m.id },
        h('span', { class: 'name' }, `${m.name} · ${m.precision} · ${formatBytes(m.bytes)}`),
        h('button', { type: 'button', class: 'check', onclick: () => void this.check(m.id) }, 'Test on this device'),
        h('button', { type: 'button', class: 'verify', onclick: () => void this.verify(m.id) }, 'Re-verify'),
        h('button', { type: 'button', class: 'export', onclick: () => void this.exportModel(m.id) }, 'Export'),
        h('button', { type: 'button', class: 'delete', onclick: () => void this.remove(m.id) }, 'Delete'))));
    await this.showStorage();
    this.options.onModelsChanged(models);
    return models;
  }

  private async showStorage(prefix = ''): Promise<void> {
    const e = await navigator.storage?.estimate?.();
    if (!e) return;
    this.storageLine.textContent = `${prefix}Browser storage: ${formatBytes(e.usage)} used of ${formatBytes(e.quota)}.`;
  }

  private setBusy(busy: boolean): void {
    this.busy = busy;
    for (const b of this.element.querySelectorAll<HTMLButtonElement>('button.install, button.resume')) b.disabled = busy;
  }

  private async install(descriptor: ModelDescriptor, precision: Precision): Promise<void> {
    if (this.busy) return;
    this.clearError();
    this.setBusy(true);
    this.cancelled = false;
    // persist() is Window-only (the worker's call is a no-op): ask here so multi-GB data is not evicted.
    await navigator.storage?.persist?.().catch(() => false);
    const files = new Map<string, HTMLElement>();
    const overall = h('progress', { max: 1, value: 0, class: 'overall' });
    const overallText = h('div', { class: 'overall-text' }, 'Starting…');
    const stage = h('div', { class: 'hint stage-text' });
    const fileList = h('div', { class: 'files' });
    const cancel = h('button', { type: 'button', class: 'cancel-install', onclick: () => { this.cancelled = true; void this.options.client().cancelInstall(); } }, 'Cancel');
    this.installBox.hidden = false;
    this.installBox.replaceChildren(h('strong', {}, `Installing ${descriptor.name} (${precision})`), overall, overallText, stage, fileList, cancel);
    const onEvent = (e: InstallEvent) => {
      switch (e.type) {
        case 'quota':
          stage.textContent = `Needs about ${formatBytes(e.needed)}; ${formatBytes(e.usage)} of ${formatBytes(e.quota)} used${e.persisted ? '' : ' (storage not persistent: the browser may evict it under pressure)'}`;
          break;
        case 'download': {
          if (e.overall.bytesTotal) overall.value = e.overall.bytesDone / e.overall.bytesTotal;
          overallText.textContent = `Overall: ${formatProgress(e.overall)}${e.resumedBytes ? ` (resumed ${formatBytes(e.resumedBytes)})` : ''}`;
          let row = files.get(e.file);
          if (!row) {
            row = h('div', { class: 'file' });
            files.set(e.file, row);
            fileList.append(row);
          }
          row.textContent = `${e.file}: ${formatProgress(e.fileProgress)}`;
          break;
        }
        case 'download-retry':
          stage.textContent = `Retrying ${e.file} (attempt ${e.attempt}, in ${(e.delayMs / 1000).toFixed(1)} s): ${e.reason}`;
          break;
        case 'verify':
          stage.textContent = `${e.file}: ${e.ok ? 'verified' : 'FAILED verification'} (${e.algorithm})`;
          break;
        case 'convert':
          stage.textContent = `Converting ${e.kind}: chunk ${e.chunk}/${e.chunks} (${formatBytes(e.bytesDone)} / ${formatBytes(e.bytesTotal)})`;
          break;
        case 'component-done':
          stage.textContent = `${e.kind} converted (${formatBytes(e.bytes)})`;
          break;
        case 'installed':
          overall.value = 1;
          stage.textContent = `Installed ${e.id} (${formatBytes(e.bytes)})`;
          break;
      }
    };
    try {
      const token = this.tokenEl.value.trim() || credentialsFor(descriptor, this.options.configCredentials?.());
      const model = await this.options.client().install(descriptor, { precision, ...(token ? { token } : {}) }, withInstallEvents(onEvent));
      this.installBox.replaceChildren(h('strong', { class: 'install-done' }, `Installed ${model.name} (${model.precision}, ${formatBytes(model.bytes)})`));
      await this.refresh();
      this.options.onInstalled(model);
    } catch (e) {
      if (this.cancelled) {
        this.installBox.replaceChildren(h('strong', {}, 'Install cancelled'), h('span', { class: 'hint' }, ' — finished parts are kept; press Resume to continue.'));
      } else {
        this.installBox.hidden = true;
        this.showError(e);
      }
      await this.refresh().catch(() => undefined);
    } finally {
      this.setBusy(false);
    }
  }

  private async remove(id: string): Promise<void> {
    this.clearError();
    try {
      const before = await navigator.storage?.estimate?.();
      await this.options.client().deleteModel(id);
      // Chromium accounts deleted IndexedDB blob files when they are unlinked, a moment after the transaction.
      let after = await navigator.storage?.estimate?.();
      for (let i = 0; i < 8 && before && after && (after.usage ?? 0) >= (before.usage ?? 0); i++) {
        await new Promise((ok) => setTimeout(ok, 250));
        after = await navigator.storage?.estimate?.();
      }
      await this.refresh();
      if (before && after) this.storageLine.textContent = `Deleted ${id}: storage used ${formatBytes(before.usage)} → ${formatBytes(after.usage)} (of ${formatBytes(after.quota)}).`;
    } catch (e) {
      this.showError(e);
    }
  }

  private async verify(id: string): Promise<void> {
    this.clearError();
    const row = this.installedBox.querySelector<HTMLElement>(`[data-model="${CSS.escape(id)}"]`);
    const out = h('span', { class: 'verify-result hint' }, ' verifying…');
    row?.append(out);
    try {
      const r = await this.options.client().verifyModel(id);
      out.textContent = r.problems.length
        ? ` ${r.problems.length} of ${r.files} files are damaged: ${r.problems.map((p) => p.file).join(', ')} — delete and reinstall (or re-import) this model.`
        : ` OK: ${r.files} files, ${formatBytes(r.bytes)} match their sha256.`;
      if (r.problems.length) out.classList.add('bad');
    } catch (e) {
      out.remove();
      this.showError(e);
    }
  }

  private async check(id: string): Promise<void> {
    this.clearError();
    const row = this.installedBox.querySelector<HTMLElement>(`[data-model="${CSS.escape(id)}"]`);
    if (row) await checkInRow(row, (onEvent) => this.options.checkModel(id, onEvent), (e) => this.showError(e));
  }

  private async exportModel(id: string): Promise<void> {
    this.clearError();
    try {
      const blob = await this.options.client().exportModel(id);
      downloadBlob(blob, `${id.replace(/[^A-Za-z0-9._-]+/g, '-')}.tar`);
    } catch (e) {
      this.showError(e);
    }
  }

  private async importFiles(files: File[]): Promise<void> {
    if (this.busy) return;
    this.clearError();
    this.setBusy(true);
    this.installBox.hidden = false;
    this.installBox.replaceChildren(h('strong', {}, `Importing ${files.length} file(s)…`));
    try {
      await navigator.storage?.persist?.().catch(() => false);
      // Checkpoints convert at the device's recommended precision; packages keep theirs.
      const precision = this.recommendation?.precision;
      const model = await this.options.client().importFiles(files, precision ? { precision } : {});
      this.installBox.replaceChildren(h('strong', { class: 'install-done' }, `Imported ${model.name} (${model.precision}, ${formatBytes(model.bytes)})`));
      await this.refresh();
      this.options.onInstalled(model);
    } catch (e) {
      this.installBox.hidden = true;
      this.showError(e);
    } finally {
      this.setBusy(false);
    }
  }

  private clearError(): void {
    this.errorBox.hidden = true;
  }

  /** Problem + remedy; the store's errors carry their numbers in the message (quota: needed, free, used, quota). */
  showError(e: unknown): void {
    let title = 'Error';
    if (e instanceof StorageQuotaError) title = 'Not enough browser storage';
    else if (e instanceof IntegrityError) title = 'Verification failed';
    else if (e instanceof DownloadError) title = 'Download failed';
    else if (e instanceof SoteError) title = e.name;
    const message = e instanceof Error ? e.message.split(' — ')[0] : String(e);
    const remedy = e instanceof SoteError ? e.remedy : 'reload the page and try again';
    this.errorBox.hidden = false;
    this.errorBox.dataset.error = e instanceof Error ? e.name : 'Error';
    this.errorBox.replaceChildren(h('strong', {}, `${title}: ${message}`), h('span', {}, `What to do: ${remedy}`));
  }
}

function safe<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}
