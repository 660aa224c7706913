/**
 * Generation history kept in IndexedDB, so the gallery survives reloads. Each entry stores the settings used
 * and the images as PNG Blobs (with their parameters chunk), newest first; the page never holds more than it
 * shows.
 */
import { createStore, del, entries, set } from 'idb-keyval';
import type { Settings } from './settings.ts';

export interface HistoryEntry {
  id: string;
  createdAt: number;
  settings: Settings;
  /** The seed actually used (decimal). */
  seed: string;
  backend: string;
  timings: Record<string, number>;
  images: { png: Blob; width: number; height: number }[];
}

const store = createStore('sote-ui', 'history');

export async function loadHistory(): Promise<HistoryEntry[]> {
  const all = await entries<string, HistoryEntry>(store);
  return all.map(([, e]) => e).sort((a, b) => b.createdAt - a.createdAt);
}

export async function saveHistory(entry: HistoryEntry): Promise<void> {
  await set(entry.id, entry, store);
}

export async function deleteHistory(id: string): Promise<void> {
  await del(id, store);
}
