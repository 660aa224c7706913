/**
 * Test page: a standalone client (createSoteClient, as an app importing src/client would make one) whose model
 * source is installedModelSource(descriptor) — the model is installed from the (local) hub on the first request,
 * with config({ credentials }) as the token where allowed — then the request generates with it on WASM.
 */
import { createSoteClient, installedModelSource } from '../../src/client/index.ts';
import { parseDescriptor } from '../../src/store/descriptor.ts';

export interface ApiInstallRun {
  ok: boolean;
  error?: string;
  images: [number, number][];
  logs: string[];
}

async function run(descriptorJson: unknown, options: { credentials?: string; credentialOrigins?: string[] }): Promise<ApiInstallRun> {
  const descriptor = parseDescriptor(descriptorJson, { url: location.href });
  const client = createSoteClient({
    store: null,
    modelSource: installedModelSource(descriptor, { precision: 'fp32', backend: 'wasm', ...(options.credentialOrigins ? { credentialOrigins: options.credentialOrigins } : {}) }),
  });
  client.config({ ...(options.credentials ? { credentials: options.credentials } : {}) });
  const logs: string[] = [];
  try {
    const r = await client.subscribe('fal-ai/stable-cascade/sote-diffusion', {
      input: { prompt: '1girl', image_size: { width: 256, height: 256 }, first_stage_steps: 4, second_stage_steps: 4, seed: 3, enable_safety_checker: false },
      logs: true,
      onQueueUpdate: (s) => {
        if ('logs' in s) for (const l of s.logs ?? []) if (!logs.includes(l.message)) logs.push(l.message);
      },
    });
    return { ok: true, images: r.data.images.map((i) => [i.width, i.height]), logs };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e), images: [], logs };
  }
}

declare global {
  interface Window {
    soteApiInstallReady?: boolean;
    soteApiInstall?: { run: typeof run };
  }
}

window.soteApiInstall = { run };
window.soteApiInstallReady = true;
