/**
 * Progress of one generation as the page shows it: one bar per stage with steps and an ETA, fed by the
 * worker's typed events (never by parsing log text), and the latest Stage C preview (false colour at latent
 * size, scaled up by CSS) when the request asked for previews — hidden until the first one arrives.
 */
import type { WorkerEvent } from '../client/protocol.ts';
import { h } from './dom.ts';

const STAGES = [
  ['text_encoder', 'Text'],
  ['prior', 'Stage C'],
  ['decoder', 'Stage B'],
  ['vqgan', 'Stage A'],
] as const;

export class ProgressView {
  readonly element = h('div', { class: 'progress', hidden: true });
  private readonly status = h('div', { class: 'status', role: 'status', 'aria-live': 'polite' });
  private readonly bars = new Map<string, { bar: HTMLProgressElement; label: HTMLElement }>();
  /** Latent-sized pixels (24×24 for 1024²), shown 192 px tall; the browser's smooth upscaling is enough. */
  private readonly previewCanvas = h('canvas', { class: 'preview-canvas', width: 1, height: 1, style: 'height:192px;width:auto;max-width:100%;background:#222' });
  private readonly previewLabel = h('figcaption', {}, '');
  private readonly preview = h('figure', { class: 'preview', hidden: true, style: 'margin:0.5em 0' }, this.previewCanvas, this.previewLabel);
  /** Stage C step count of the running generation (from its step events), for the preview label. */
  private priorSteps: number | undefined;

  constructor() {
    this.element.append(this.status);
    for (const [id, name] of STAGES) {
      const bar = h('progress', { max: 1, value: 0 });
      const label = h('span', {}, '');
      this.bars.set(id, { bar, label });
      this.element.append(h('div', { class: 'stage' }, h('span', {}, name), bar, label));
    }
    this.previewCanvas.setAttribute('aria-label', 'Stage C preview');
    this.element.append(this.preview);
  }

  reset(message: string): void {
    this.element.hidden = false;
    this.status.textContent = message;
    for (const { bar, label } of this.bars.values()) {
      bar.value = 0;
      label.textContent = '';
    }
    this.preview.hidden = true;
    this.previewLabel.textContent = '';
    this.previewCanvas.width = this.previewCanvas.height = 1;
    this.priorSteps = undefined;
  }

  /** Draws a preview: the batch's images side by side, each width × height RGB. */
  private showPreview(e: Extract<WorkerEvent, { type: 'preview' }>): void {
    const per = e.width * e.height * 3;
    const images = Math.max(1, Math.floor(e.rgb.length / per));
    const ctx = this.previewCanvas.getContext('2d');
    if (!ctx || e.rgb.length !== images * per) return;
    if (this.previewCanvas.width !== e.width * images) this.previewCanvas.width = e.width * images;
    if (this.previewCanvas.height !== e.height) this.previewCanvas.height = e.height;
    const data = ctx.createImageData(e.width * images, e.height);
    for (let b = 0; b < images; b++) {
      for (let y = 0; y < e.height; y++) {
        for (let x = 0; x < e.width; x++) {
          const src = b * per + (y * e.width + x) * 3;
          const dst = (y * e.width * images + b * e.width + x) * 4;
          data.data[dst] = e.rgb[src];
          data.data[dst + 1] = e.rgb[src + 1];
          data.data[dst + 2] = e.rgb[src + 2];
          data.data[dst + 3] = 255;
        }
      }
    }
    ctx.putImageData(data, 0, 0);
    this.previewLabel.textContent = `Stage C preview, step ${e.step}${this.priorSteps ? `/${this.priorSteps}` : ''}` +
      ` (false colour, ${e.width}×${e.height} latent${images > 1 ? `, ${images} images` : ''})`;
    this.preview.hidden = false;
  }

  setStatus(message: string): void {
    this.status.textContent = message;
  }

  handle(e: WorkerEvent): void {
    switch (e.type) {
      case 'backend':
        this.status.textContent = `Backend: ${e.backend} — ${e.reason}`;
        break;
      case 'model-loading':
        this.status.textContent = 'Loading the model…';
        break;
      case 'model-loaded':
        this.status.textContent = `Model ready in ${(e.ms / 1000).toFixed(1)} s`;
        break;
      case 'stage-start': {
        const b = this.bars.get(e.stage);
        if (b) b.label.textContent = 'running…';
        this.status.textContent = `Running ${STAGES.find(([id]) => id === e.stage)?.[1] ?? e.stage}…`;
        break;
      }
      case 'stage-end': {
        const b = this.bars.get(e.stage);
        if (b) {
          b.bar.value = 1;
          b.label.textContent = `${(e.ms / 1000).toFixed(1)} s`;
        }
        break;
      }
      case 'preview':
        this.showPreview(e);
        break;
      case 'step': {
        if (e.stage === 'prior') this.priorSteps = e.steps;
        const b = this.bars.get(e.stage);
        if (!b) break;
        b.bar.value = e.step / e.steps;
        const eta = (e.ms / e.step) * (e.steps - e.step);
        b.label.textContent = `${e.step}/${e.steps} · ${e.step < e.steps ? `${(eta / 1000).toFixed(1)} s left` : 'done'}`;
        break;
      }
      case 'safety-loaded':
        this.status.textContent = `Safety checker ready (${(e.ms / 1000).toFixed(1)} s)`;
        break;
      case 'safety-image':
        this.status.textContent = `Safety check: image ${e.index + 1} ${e.flagged ? 'flagged' : 'passed'}`;
        break;
      default:
        break;
    }
  }
}
