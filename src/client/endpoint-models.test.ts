/**
 * Which model a standalone client answers each endpoint with (sote.ts endpointModelSource): SoteDiffusion V2 for
 * sote-diffusion, Stable Cascade for fal-ai/stable-cascade. The worker is replaced by a small in-memory store API
 * (only the calls installedModelSource makes), as in generator-runner.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { STABLE_CASCADE_LITE } from '../store/catalogue.ts';
import type { GeneratorClient, InstalledModelInfo, InstallRequestOptions, ModelDescriptor } from './protocol.ts';
import { ENDPOINT_MODELS, endpointModelSource, SOTE_DIFFUSION_ENDPOINT, STABLE_CASCADE_ENDPOINT } from './sote.ts';

function storeClient() {
  const installed: InstalledModelInfo[] = [];
  const client = {
    listModels: async () => installed,
    install: async (d: ModelDescriptor, options?: InstallRequestOptions) => {
      const m: InstalledModelInfo = { id: `${d.id}@${options?.precision ?? 'fp16'}`, descriptorId: d.id, name: d.name, precision: options?.precision ?? 'fp16', bytes: 1, installedAt: 0, defaults: d.defaults, hasSafetyChecker: true };
      installed.push(m);
      return m;
    },
  } as unknown as GeneratorClient;
  return { client, installed };
}

describe('endpointModelSource', () => {
  it('answers each endpoint with its own model; no endpoint means sote-diffusion', async () => {
    expect(ENDPOINT_MODELS[STABLE_CASCADE_ENDPOINT].id).toBe('stable-cascade');
    expect(ENDPOINT_MODELS[SOTE_DIFFUSION_ENDPOINT].id).toBe('sotediffusion-v2');
    const { client, installed } = storeClient();
    const source = endpointModelSource();
    const ctx = { client, credentials: undefined, onEvent: () => undefined };
    expect(await source({ ...ctx, endpointId: STABLE_CASCADE_ENDPOINT })).toEqual({ modelId: 'stable-cascade@fp16' });
    expect(await source({ ...ctx, endpointId: SOTE_DIFFUSION_ENDPOINT })).toEqual({ modelId: 'sotediffusion-v2@fp16' });
    expect(await source(ctx)).toEqual({ modelId: 'sotediffusion-v2@fp16' });
    expect(installed.map((m) => m.id)).toEqual(['stable-cascade@fp16', 'sotediffusion-v2@fp16']);
  });

  it('takes other models per endpoint (the lite Stable Cascade) and refuses unknown endpoints', async () => {
    const { client } = storeClient();
    const source = endpointModelSource({ ...ENDPOINT_MODELS, [STABLE_CASCADE_ENDPOINT]: STABLE_CASCADE_LITE }, { precision: 'int8' });
    const ctx = { client, credentials: undefined, onEvent: () => undefined };
    expect(await source({ ...ctx, endpointId: STABLE_CASCADE_ENDPOINT })).toEqual({ modelId: 'stable-cascade-lite@int8' });
    await expect(Promise.resolve().then(() => source({ ...ctx, endpointId: 'fal-ai/flux/dev' }))).rejects.toMatchObject({ name: 'UnknownEndpointError', status: 404 });
  });
});
