/**
 * The Models panel's "Test on this device" result in a model's row: a `.check-result` element with live progress
 * from the worker's typed events while the check runs, then one line from its ModelCheckResult (backend,
 * residency, per-network session time, decode) or the failure. `data-done` is set ('ok' | 'failed') when it ends.
 */
import type { ModelCheckResult, WorkerEvent } from '../client/protocol.ts';
import { formatBytes } from '../core/format-bytes.ts';
import { h } from './dom.ts';

const NETWORK_LABELS: Record<ModelCheckResult['sessions'][number]['component'], string> = {
  clip_text: 'text encoder',
  stage_c: 'Stage C',
  stage_b: 'Stage B',
  stage_a: 'Stage A',
};

/** 5.3 ms, 1234 ms, 45.2 s: a full-size network takes tens of seconds to load. */
const ms = (v: number) => (v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${v < 10 ? v.toFixed(1) : v.toFixed(0)} ms`);

/** The progress line for an event of a running check, or undefined when the event changes nothing shown. */
export function checkProgressText(e: WorkerEvent): string | undefined {
  switch (e.type) {
    case 'backend':
      return `starting on ${e.backend}…`;
    case 'model-loading':
      return 'loading the model…';
    case 'session-start':
      return `loading ${NETWORK_LABELS[e.component]}…`;
    case 'session-progress':
      return `loading ${NETWORK_LABELS[e.component]}… ${formatBytes(Math.min(e.loadedBytes, e.totalBytes))} of ${formatBytes(e.totalBytes)}`;
    case 'stage-start':
      return e.stage === 'vqgan' ? 'decoding the test latent through Stage A…' : undefined;
    default:
      return undefined;
  }
}

/**
 * "wasm · residency sequential · sessions: text encoder 40 ms, Stage C 120 ms (2 graphs), … · decode 256×256
 * in 150 ms · finite (3 012 colours)"; a session that already existed says "(already loaded)".
 */
export function checkResultLine(r: ModelCheckResult, warnings: readonly string[] = []): string {
  const sessions = r.sessions.map((s) =>
    `${NETWORK_LABELS[s.component]} ${ms(s.ms)}${s.graphs > 1 ? ` (${s.graphs} graphs)` : ''}${s.reused ? ' (already loaded)' : ''}`);
  const d = r.decode;
  const values = 3 * d.width * d.height;
  const outcome = d.finite ? `finite (${d.distinct} colours)` : `NOT finite: ${d.nonFinite} of ${values} decoded values are NaN or infinite`;
  const warned = warnings.length ? ` · ${warnings.length} warning${warnings.length > 1 ? 's' : ''}: ${warnings.join('; ')}` : '';
  return `${r.backend} · residency ${r.residency} · sessions: ${sessions.join(', ')} · decode ${d.width}×${d.height} in ${ms(d.ms)} · ${outcome}${warned}`;
}

/**
 * Runs `check` for the model of `row` (its `button.check` disabled meanwhile) and shows progress and result in a
 * fresh `.check-result`; a failure is also passed to `showError` (problem + remedy).
 */
export async function checkInRow(
  row: HTMLElement, check: (onEvent: (e: WorkerEvent) => void) => Promise<ModelCheckResult>, showError: (e: unknown) => void,
): Promise<void> {
  row.querySelector('.check-result')?.remove();
  const out = h('span', { class: 'check-result hint', role: 'status' }, 'waiting for the generator…');
  row.append(out);
  const button = row.querySelector<HTMLButtonElement>('button.check');
  if (button) button.disabled = true;
  // WARN lines of the check (a stalled stored-data read that was reopened, …) end up in the result line.
  const warnings: string[] = [];
  try {
    const result = await check((e) => {
      if (e.type === 'log' && e.level === 'WARN' && !out.dataset.done) warnings.push(e.message);
      const text = checkProgressText(e);
      // Events travel on their own Comlink channel: a late one must not overwrite the result.
      if (text && !out.dataset.done) out.textContent = text;
    });
    out.dataset.done = 'ok';
    out.textContent = checkResultLine(result, warnings);
    if (!result.decode.finite) out.classList.add('bad');
  } catch (e) {
    out.dataset.done = 'failed';
    out.classList.add('bad');
    out.textContent = `failed: ${e instanceof Error ? e.message.split(' — ')[0] : String(e)}`;
    showError(e);
  } finally {
    if (button) button.disabled = false;
  }
}
