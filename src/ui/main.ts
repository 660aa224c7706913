/**
 * The generator page: settings form, progress, gallery and history. Talks to the generator worker only
 * through src/client; the worker does all model work.
 */
import { GeneratorRunner } from '../client/generator-runner.ts';
import { SoteError, type InstalledModelInfo, type LoadRequest } from '../client/protocol.ts';
import { encodePngWithParameters, readPngParameters, type GenerationParameters } from '../client/image-files.ts';
import { downloadBlob, h } from './dom.ts';
import { deleteHistory, loadHistory, saveHistory, type HistoryEntry } from './history.ts';
import { formatBytes } from '../core/format-bytes.ts';
import { ModelsPanel } from './models.ts';
import { ProgressView } from './progress.ts';
import { samplerSettingsFromLabels } from '../client/sampler-options.ts';
import { RECOMMENDED_PRESET, samplerControls, samplerParameters, samplerSummary, stageSamplers } from './sampler-fields.ts';
import '../offline/register.ts'; // service worker in production builds only: offline app shell + COOP/COEP (src/offline/)
import { installSote } from '../client/sote.ts';
import {
  BOUNDS, defaultSettings, hostedClientCode, IMAGE_SIZE_PRESETS, imageSize, randomSeed, RECOMMENDED_NEGATIVE,
  RECOMMENDED_PROMPT_PREFIX, validate, type Settings,
} from './settings.ts';

/** Models the page can run without any download. */
const MODELS: Record<string, { label: string; url: string; safetyChecker?: { modelBase: string; modelId: string } }> = {
  'tiny-demo': {
    label: 'Tiny demo (built in, random weights: noise-like images, for trying the app)',
    url: '/models/tiny-demo/',
    // The demo's checker is a tiny classifier that flags very bright images — enough to exercise the path.
    safetyChecker: { modelBase: '/models/', modelId: 'tiny-demo-safety' },
  },
};

const SETTINGS_KEY = 'sote-ui-settings';
let settings: Settings = { ...defaultSettings(), ...(JSON.parse(localStorage.getItem(SETTINGS_KEY) ?? '{}') as Partial<Settings>) };
const app = document.getElementById('app')!;
const progress = new ProgressView();
const errorBox = h('div', { class: 'error', hidden: true, role: 'alert' });
const gallery = h('div', { class: 'gallery' });
/** Each validated field's control and its error line (shown once the field was touched or Generate pressed). */
const fieldErrors = new Map<string, { input: HTMLElement; error: HTMLElement }>();
/** Fields the user has changed; a field shows its error only then, or after a Generate press. */
const touched = new Set<string>();
let submitted = false;

/** Installed models (IndexedDB, via the worker); the selector lists them after the built-in demo. */
let installed: InstalledModelInfo[] = [];
/**
 * One worker for the page (GeneratorRunner): the form, the Models panel and window.sote all use it, so one
 * model is resident and page and API generations take turns. An installed model is read from IndexedDB inside
 * the worker; a lost GPU device gets a new worker and one retry (generator-runner.ts).
 */
const runner = new GeneratorRunner();
/** The page's running generation (Cancel aborts it; an API request running meanwhile is not touched). */
let running: AbortController | undefined;
/** The last sote.config({ credentials }) (the Models panel's token fallback). */
let configCredentials: string | undefined;

/** What the selected model and backend mean to the worker (also what window.sote generates with). */
function selectedLoadRequest(): LoadRequest {
  const demo = MODELS[settings.model];
  return demo
    ? { modelUrl: demo.url, backend: settings.backend, ...(demo.safetyChecker ? { safetyChecker: demo.safetyChecker } : {}) }
    : installedLoadRequest(settings.model);
}

/** An installed model on the selected backend (the same request, so the same loaded model, as its generations). */
function installedLoadRequest(id: string): LoadRequest {
  return { modelId: id, backend: settings.backend };
}

// window.sote: the hosted client's API on this page, answered with the model selected here.
installSote(window, {
  runner,
  modelSource: () => selectedLoadRequest(),
  onConfig: (c) => { configCredentials = c.credentials; },
});

// ---- form ---------------------------------------------------------------------------------------------------

/**
 * A labelled control: the label's text is the control's accessible name; the hint and the error line are its
 * description (aria-describedby), so a screen reader reads "Prompt, edit text, enter a prompt" and
 * getByLabel('Prompt') finds it.
 */
function field(label: string, name: keyof Settings, input: HTMLElement, hint?: string | HTMLElement): HTMLElement {
  const id = `field-${name}`;
  input.id = id;
  const hintEl = typeof hint === 'string' ? h('span', { class: 'hint', id: `${id}-hint` }, hint) : hint;
  if (hintEl) hintEl.id ||= `${id}-hint`;
  const error = h('span', { class: 'field-error', id: `${id}-error` });
  input.setAttribute('aria-describedby', [hintEl?.id, error.id].filter(Boolean).join(' '));
  fieldErrors.set(name, { input, error });
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hintEl, error);
}

/** Shows each field's error once it was touched (or Generate was pressed); marks the control aria-invalid. */
function renderFieldErrors(): void {
  const errors = validate(settings);
  for (const [name, { input, error }] of fieldErrors) {
    const message = submitted || touched.has(name) ? (errors[name] ?? '') : '';
    error.textContent = message;
    if (message) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }
}

function numberInput(name: keyof Settings, [min, max]: readonly [number, number], step = 1): HTMLInputElement {
  const el = h('input', { type: 'number', min, max, step, name, value: String(settings[name]) });
  el.addEventListener('input', () => update({ [name]: Number(el.value) } as Partial<Settings>));
  return el;
}

const promptEl = h('textarea', { name: 'prompt', placeholder: 'e.g. 1girl, solo, cat ears, pink hair, smile, indoors' });
const negativeEl = h('textarea', { name: 'negative_prompt', placeholder: 'what to avoid (optional)' });
const seedEl = numberInput('seed', BOUNDS.seed);
const sizeEl = h('select', { name: 'size' },
  ...Object.entries(IMAGE_SIZE_PRESETS).map(([k, v]) => h('option', { value: k }, `${k} (${v.width}×${v.height})`)),
  h('option', { value: 'custom' }, 'custom'));
const widthEl = numberInput('width', BOUNDS.side, 128);
const heightEl = numberInput('height', BOUNDS.side, 128);
const lockEl = h('input', { type: 'checkbox', name: 'seedLocked' });
const safetyEl = h('input', { type: 'checkbox', name: 'enable_safety_checker' });
const generateBtn = h('button', { type: 'submit', class: 'primary' }, 'Generate (Ctrl+Enter)');
const cancelBtn = h('button', { type: 'button', disabled: true }, 'Cancel');
const modelEl = h('select', { name: 'model' });
const modelHint = h('span', {});

/** Rebuilds the selector: the demo, then every installed model; keeps the current choice when it still exists. */
function renderModelOptions(): void {
  modelEl.replaceChildren(
    ...Object.entries(MODELS).map(([k, m]) => h('option', { value: k }, m.label)),
    ...installed.map((m) => h('option', { value: m.id }, `${m.name} (${m.precision}, ${formatBytes(m.bytes)}, installed)`)));
  modelEl.value = isKnownModel(settings.model) ? settings.model : 'tiny-demo';
  const chosen = installed.find((m) => m.id === settings.model);
  modelHint.textContent = chosen && !chosen.hasSafetyChecker
    ? 'This model has no safety checker (imported without the checker\'s files, or installed by an older version): uncheck the safety checker to generate with it, or reinstall it from the hub.'
    : '';
}

const isKnownModel = (id: string) => id in MODELS || installed.some((m) => m.id === id);
const samplers = samplerControls((patch) => { update(patch); syncInputs(); }, () => { update({ ...RECOMMENDED_PRESET }); syncInputs(); });
const backendEl = h('select', { name: 'backend' },
  h('option', { value: 'auto' }, 'auto (WebGPU on a GPU, else WASM)'), h('option', { value: 'webgpu' }, 'WebGPU'), h('option', { value: 'wasm' }, 'WASM (CPU)'));

function syncInputs(): void {
  promptEl.value = settings.prompt;
  negativeEl.value = settings.negative_prompt;
  seedEl.value = String(settings.seed);
  sizeEl.value = settings.size;
  // A preset shows its own size in the (disabled) fields; custom shows the custom size.
  const shown = imageSize(settings);
  widthEl.value = String(shown.width);
  heightEl.value = String(shown.height);
  widthEl.disabled = heightEl.disabled = settings.size !== 'custom';
  lockEl.checked = settings.seedLocked;
  safetyEl.checked = settings.enable_safety_checker;
  renderModelOptions();
  backendEl.value = settings.backend;
  samplers.sync(settings);
  for (const name of ['first_stage_steps', 'second_stage_steps', 'guidance_scale', 'second_stage_guidance_scale', 'num_images'] as const) {
    const el = form.querySelector<HTMLInputElement>(`[name=${name}]`);
    if (el) el.value = String(settings[name]);
  }
}

function update(patch: Partial<Settings>): void {
  settings = { ...settings, ...patch };
  localStorage.setItem(SETTINGS_KEY, JSON.stringify(settings));
  for (const name of Object.keys(patch)) touched.add(name);
  renderFieldErrors();
}

promptEl.addEventListener('input', () => update({ prompt: promptEl.value }));
negativeEl.addEventListener('input', () => update({ negative_prompt: negativeEl.value }));
sizeEl.addEventListener('change', () => { update({ size: sizeEl.value as Settings['size'] }); syncInputs(); });
lockEl.addEventListener('change', () => update({ seedLocked: lockEl.checked }));
safetyEl.addEventListener('change', () => update({ enable_safety_checker: safetyEl.checked }));
modelEl.addEventListener('change', () => { update({ model: modelEl.value }); renderModelOptions(); });
backendEl.addEventListener('change', () => update({ backend: backendEl.value as Settings['backend'] }));

const form = h('form', { novalidate: true },
  field('Prompt', 'prompt', promptEl),
  h('div', { class: 'chips' },
    h('button', { type: 'button', onclick: () => { if (!settings.prompt.startsWith(RECOMMENDED_PROMPT_PREFIX)) { update({ prompt: RECOMMENDED_PROMPT_PREFIX + settings.prompt }); syncInputs(); } } }, '+ quality tags'),
    h('button', { type: 'button', onclick: () => { update({ negative_prompt: RECOMMENDED_NEGATIVE }); syncInputs(); } }, 'recommended negative')),
  field('Negative prompt', 'negative_prompt', negativeEl),
  h('div', { class: 'row' }, field('Image size', 'size', sizeEl), field('Width', 'width', widthEl), field('Height', 'height', heightEl)),
  h('span', { class: 'hint' }, 'SoteDiffusion is trained at multiples of 128 px; 1024×1536 is recommended.'),
  h('div', { class: 'row' },
    field('Stage C steps', 'first_stage_steps', numberInput('first_stage_steps', BOUNDS.first_stage_steps)),
    field('Stage C guidance', 'guidance_scale', numberInput('guidance_scale', BOUNDS.guidance_scale, 0.1))),
  h('div', { class: 'row' },
    field('Stage B steps', 'second_stage_steps', numberInput('second_stage_steps', BOUNDS.second_stage_steps)),
    field('Stage B guidance', 'second_stage_guidance_scale', numberInput('second_stage_guidance_scale', BOUNDS.second_stage_guidance_scale, 0.1))),
  samplers.element,
  h('div', { class: 'row' },
    field('Seed', 'seed', seedEl),
    h('label', {}, 'Lock seed', lockEl),
    h('button', { type: 'button', onclick: () => { update({ seed: randomSeed() }); syncInputs(); } }, 'Random seed'),
    field('Images', 'num_images', numberInput('num_images', BOUNDS.num_images))),
  h('label', {}, h('span', {}, 'Safety checker (flagged images are replaced by black) ', safetyEl)),
  field('Model', 'model', modelEl, h('span', { class: 'hint' }, 'Install more in the Models panel. ', modelHint)),
  field('Backend', 'backend', backendEl),
  h('div', { class: 'row' }, generateBtn, cancelBtn,
    h('button', { type: 'button', onclick: () => void navigator.clipboard.writeText(hostedClientCode(settings)) }, 'Copy as hosted-API code')),
  errorBox,
  progress.element,
);

form.addEventListener('submit', (e) => { e.preventDefault(); void generate(); });
document.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); void generate(); }
});
cancelBtn.addEventListener('click', () => running?.abort());

// Dropping a PNG made here (or by A1111-style tools) restores its settings.
document.addEventListener('dragover', (e) => e.preventDefault());
document.addEventListener('drop', async (e) => {
  e.preventDefault();
  const file = e.dataTransfer?.files[0];
  if (!file) return;
  const params = readPngParameters(new Uint8Array(await file.arrayBuffer()));
  if (!params) return showError(`${file.name} carries no generation parameters`, 'drop a PNG saved from this page');
  applyParameters(params);
});

function applyParameters(p: GenerationParameters): void {
  const preset = Object.entries(IMAGE_SIZE_PRESETS).find(([, v]) => v.width === p.width && v.height === p.height)?.[0];
  update({
    prompt: p.prompt, negative_prompt: p.negativePrompt, first_stage_steps: p.steps, guidance_scale: p.cfgScale,
    second_stage_steps: p.secondStageSteps, second_stage_guidance_scale: p.secondStageCfgScale,
    seed: Number(p.seed), seedLocked: true, size: (preset as Settings['size']) ?? 'custom', width: p.width, height: p.height,
    ...samplerSettingsFromLabels(p),
  });
  syncInputs();
}

function showError(problem: string, remedy?: string): void {
  errorBox.hidden = false;
  errorBox.replaceChildren(h('strong', {}, problem), ...(remedy ? [h('span', {}, remedy)] : []));
}

// ---- generation -----------------------------------------------------------------------------------------------

async function generate(): Promise<void> {
  if (running) return;
  const errors = validate(settings);
  submitted = true;
  renderFieldErrors();
  if (Object.keys(errors).length) return showError('Some settings need fixing', Object.entries(errors).map(([k, v]) => `${k} ${v}`).join('; '));
  errorBox.hidden = true;
  if (!settings.seedLocked) { update({ seed: randomSeed() }); syncInputs(); }
  const controller = new AbortController();
  running = controller;
  generateBtn.disabled = true;
  cancelBtn.disabled = false;
  progress.reset(runner.busy ? 'Waiting for the window.sote request or model check running on this page…' : 'Starting…');
  // Events travel on their own Comlink channel, so some can arrive after the result: they may still fill the
  // bars, but must not replace the outcome (Done / Cancelled / Failed) in the status line.
  let outcome: string | undefined;
  const finish = (status: string) => progress.setStatus((outcome = status));
  const used = { ...settings };
  try {
    const { width, height } = imageSize(used);
    // Waits its turn if a window.sote request is running (the runner serializes the shared worker).
    const result = await runner.generate(selectedLoadRequest(), {
      prompt: used.prompt, negativePrompt: used.negative_prompt, width, height, numImages: used.num_images, seed: used.seed,
      stageC: { steps: used.first_stage_steps, cfg: used.guidance_scale, sampler: stageSamplers(used).stageC },
      stageB: { steps: used.second_stage_steps, cfg: used.second_stage_guidance_scale, sampler: stageSamplers(used).stageB },
      enableSafetyChecker: used.enable_safety_checker,
      preview: { every: 1 }, // live Stage C preview in the progress panel (one small read-back per step)
    }, { signal: controller.signal, onEvent: (e) => { progress.handle(e); if (outcome) progress.setStatus(outcome); } });
    const flagged = result.hasNsfwConcepts.filter(Boolean).length;
    finish(`Done in ${result.timings.inference.toFixed(1)} s on ${result.backend}` +
      (flagged ? ` — the safety checker flagged ${flagged} image(s); they were replaced by black images` : ''));
    const params: GenerationParameters = {
      prompt: used.prompt, negativePrompt: used.negative_prompt, steps: used.first_stage_steps, cfgScale: used.guidance_scale,
      ...samplerParameters(used), seed: String(result.seed), width, height, model: used.model,
      secondStageSteps: used.second_stage_steps, secondStageCfgScale: used.second_stage_guidance_scale,
    };
    const entry: HistoryEntry = {
      id: crypto.randomUUID(), createdAt: Date.now(), settings: used, seed: String(result.seed), backend: result.backend,
      timings: result.timings,
      images: result.images.map((img) => ({
        png: new Blob([encodePngWithParameters(img, params) as Uint8Array<ArrayBuffer>], { type: 'image/png' }),
        width: img.width, height: img.height,
      })),
    };
    await saveHistory(entry);
    gallery.prepend(...(await renderEntry(entry)));
  } catch (e) {
    if (e instanceof SoteError && e.name === 'GenerationCancelledError') finish('Cancelled');
    else {
      finish('Failed (see the message above)');
      if (e instanceof SoteError) showError(e.message.split(' — ')[0], e.remedy);
      else showError(e instanceof Error ? e.message : String(e), 'reload the page and try again; if it persists, try the WASM backend');
    }
  } finally {
    running = undefined;
    generateBtn.disabled = false;
    cancelBtn.disabled = true;
  }
}

// ---- gallery ----------------------------------------------------------------------------------------------------

async function renderEntry(entry: HistoryEntry): Promise<HTMLElement[]> {
  return Promise.all(entry.images.map(async (img, i) => {
    const bitmap = await createImageBitmap(img.png);
    const canvas = h('canvas', { width: img.width, height: img.height });
    canvas.getContext('2d')!.drawImage(bitmap, 0, 0);
    const name = `sote-${entry.seed}${entry.images.length > 1 ? `-${i + 1}` : ''}`;
    const card = h('div', { class: 'card', 'data-entry': entry.id },
      canvas,
      h('div', { class: 'meta' }, `${entry.settings.prompt} · seed ${entry.seed} · ${img.width}×${img.height} · ${samplerSummary(entry.settings)} · ${entry.backend} · ${entry.timings.inference?.toFixed(1)} s`),
      h('div', { class: 'row' },
        h('button', { type: 'button', onclick: () => downloadBlob(img.png, `${name}.png`) }, 'PNG'),
        h('button', { type: 'button', onclick: () => canvas.toBlob((b) => b && downloadBlob(b, `${name}.jpg`), 'image/jpeg', 0.92) }, 'JPEG'),
        h('button', { type: 'button', onclick: () => { update({ ...entry.settings, seed: Number(entry.seed), seedLocked: true }); syncInputs(); } }, 'Reuse settings'),
        h('button', { type: 'button', onclick: async () => { await deleteHistory(entry.id); gallery.querySelectorAll(`[data-entry="${entry.id}"]`).forEach((n) => n.remove()); } }, 'Delete')));
    canvas.addEventListener('click', () => {
      const dialog = h('dialog', {}, rgbToCanvasFromBitmap(bitmap), h('form', { method: 'dialog' }, h('button', {}, 'Close')));
      document.body.append(dialog);
      dialog.addEventListener('close', () => dialog.remove());
      dialog.showModal();
    });
    return card;
  }));
}

function rgbToCanvasFromBitmap(bitmap: ImageBitmap): HTMLCanvasElement {
  const c = h('canvas', { width: bitmap.width, height: bitmap.height });
  c.getContext('2d')!.drawImage(bitmap, 0, 0);
  return c;
}

// ---- start ------------------------------------------------------------------------------------------------------

const models = new ModelsPanel({
  client: () => runner.client(),
  configCredentials: () => configCredentials,
  onModelsChanged: (list) => {
    installed = list;
    if (!isKnownModel(settings.model)) update({ model: 'tiny-demo' });
    renderModelOptions();
  },
  onInstalled: (m) => { update({ model: m.id }); renderModelOptions(); },
  checkModel: (id, onEvent) => runner.checkModel(installedLoadRequest(id), { onEvent }),
});

// ?model=tiny selects the demo for generation; ?model=<url> shows that descriptor in the Models panel.
const requested = new URL(location.href).searchParams.get('model');
if (requested === 'tiny' || requested === 'tiny-demo') update({ model: 'tiny-demo' });

app.append(form, h('div', { class: 'side' }, models.element, h('section', {}, h('h2', {}, 'Gallery'), gallery)));
void models.init().catch((e: unknown) => models.showError(e));
syncInputs();
update({});
void loadHistory().then(async (all) => {
  for (const entry of all) gallery.append(...(await renderEntry(entry)));
});
