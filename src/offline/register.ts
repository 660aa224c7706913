/**
 * Service-worker registration (side-effect module, imported once by src/ui/main.ts).
 *
 * Builds (`npm run build`, `npm start`; the build plugin sets import.meta.env.SOTE_SERVICE_WORKER): registers `<base>sw.js` (src/offline/sw.ts, built by
 * src/offline/vite-plugin.ts) once the page has loaded, so the app shell, the onnxruntime-web wasm and the demo
 * model are precached and the page reloads and generates offline, still cross-origin isolated.
 * Dev server: no service worker, ever; one left over on this origin (e.g. from `vite preview` on the same port)
 * is unregistered so it cannot serve stale builds to the dev server.
 */

/** What the service worker answers to `{ type: 'sote-offline-status' }`. */
export interface OfflineStatus {
  version: string;
  cacheName: string;
  /** Files in the build's precache manifest and their total size. */
  files: number;
  totalBytes: number;
  /** How many of them are in the cache now, verified (all of them once installed). */
  cachedFiles: number;
  cachedBytes: number;
}

/** Set by the build plugin (src/offline/vite-plugin.ts) to the worker's file name; undefined on the dev server. */
const SW_FILE = import.meta.env.SOTE_SERVICE_WORKER as string | undefined;

export const SERVICE_WORKER_URL = SW_FILE ? `${import.meta.env.BASE_URL}${SW_FILE}` : undefined;

/** Asks the controlling service worker what is cached; undefined if the page is not controlled. */
export function offlineStatus(timeoutMs = 5000): Promise<OfflineStatus | undefined> {
  const controller = typeof navigator !== 'undefined' ? navigator.serviceWorker?.controller : null;
  if (!controller) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    const timer = setTimeout(() => resolve(undefined), timeoutMs);
    channel.port1.onmessage = (e: MessageEvent<OfflineStatus>) => {
      clearTimeout(timer);
      resolve(e.data);
    };
    controller.postMessage({ type: 'sote-offline-status' }, [channel.port2]);
  });
}

if (typeof navigator !== 'undefined' && 'serviceWorker' in navigator) {
  if (SERVICE_WORKER_URL) {
    const url = SERVICE_WORKER_URL;
    const register = () => {
      navigator.serviceWorker
        .register(url, { scope: import.meta.env.BASE_URL, updateViaCache: 'none' })
        .catch((e: unknown) => console.warn(`offline support unavailable: service worker registration failed (${e instanceof Error ? e.message : String(e)})`));
    };
    if (document.readyState === 'complete') register();
    else window.addEventListener('load', register, { once: true });
  } else {
    void navigator.serviceWorker.getRegistrations().then((regs) => Promise.all(regs.map((r) => r.unregister())));
  }
}
