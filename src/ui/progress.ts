/**
 * Progress of one generation as the page shows it: one bar per stage with steps and an ETA, fed by the
 * worker's typed events (never by parsing log text).
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

  constructor() {
    this.element.append(this.status);
    for (const [id, name] of STAGES) {
      const bar = h('progress', { max: 1, value: 0 });
      const label = h('span', {}, '');
      this.bars.set(id, { bar, label });
      this.element.append(h('div', { class: 'stage' }, h('span', {}, name), bar, label));
    }
  }

  reset(message: string): void {
    this.element.hidden = false;
    this.status.textContent = message;
    for (const { bar, label } of this.bars.values()) {
      bar.value = 0;
      label.textContent = '';
    }
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
      case 'step': {
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
