/**
 * The model-source rules of generator-runner.ts: where config({ credentials }) may go, and "installed copy
 * first, else install". The worker is replaced by a small in-memory store API (only the calls the source makes).
 */
import { describe, expect, it } from 'vitest';
import { SOTEDIFFUSION_V2, tinyDemoDescriptor } from '../store/catalogue.ts';
import { withHub } from '../store/descriptor.ts';
import { credentialsFor, installedModelSource } from './generator-runner.ts';
import type { GeneratorClient, InstalledModelInfo, InstallRequestOptions, WorkerEvent } from './protocol.ts';

describe('credentialsFor', () => {
  it('sends the token to huggingface.co only', () => {
    expect(credentialsFor(SOTEDIFFUSION_V2, 'hf_x')).toBe('hf_x');
    expect(credentialsFor(withHub(SOTEDIFFUSION_V2, 'https://hf-mirror.example.com'), 'hf_x')).toBeUndefined();
    expect(credentialsFor(withHub(SOTEDIFFUSION_V2, 'http://huggingface.co'), 'hf_x')).toBeUndefined();
    expect(credentialsFor(tinyDemoDescriptor('http://localhost/'), 'hf_x')).toBeUndefined();
    expect(credentialsFor(SOTEDIFFUSION_V2, undefined)).toBeUndefined();
    expect(credentialsFor(SOTEDIFFUSION_V2, '')).toBeUndefined();
  });
  it('takes an explicit list of allowed hub origins', () => {
    const mirror = withHub(SOTEDIFFUSION_V2, 'http://127.0.0.1:8000');
    expect(credentialsFor(mirror, 'hf_x', ['http://127.0.0.1:8000'])).toBe('hf_x');
  });
});

function storeClient(installed: InstalledModelInfo[]) {
  const installs: { id: string; options: InstallRequestOptions | undefined }[] = [];
  const client = {
    listModels: async () => installed,
    install: async (d: typeof SOTEDIFFUSION_V2, options?: InstallRequestOptions) => {
      const m: InstalledModelInfo = { id: `${d.id}@${options?.precision ?? 'fp16'}`, descriptorId: d.id, name: d.name, precision: options?.precision ?? 'fp16', bytes: 1, installedAt: 0, defaults: d.defaults, hasSafetyChecker: true };
      installs.push({ id: m.id, options });
      installed.push(m);
      return m;
    },
  } as unknown as GeneratorClient;
  return { client, installs };
}

describe('installedModelSource', () => {
  it('installs on first use with the credentials, then reuses the installed copy', async () => {
    const { client, installs } = storeClient([]);
    const events: WorkerEvent[] = [];
    const source = installedModelSource(SOTEDIFFUSION_V2, { backend: 'wasm' });
    const ctx = { client, credentials: 'hf_secret', onEvent: (e: WorkerEvent) => events.push(e) };
    expect(await source(ctx)).toEqual({ modelId: 'sotediffusion-v2@fp16', backend: 'wasm' });
    expect(installs).toEqual([{ id: 'sotediffusion-v2@fp16', options: { token: 'hf_secret' } }]);
    expect(events.some((e) => e.type === 'log' && /not installed: installing it \(with the configured credentials\)/.test(e.message))).toBe(true);
    expect(await source(ctx)).toEqual({ modelId: 'sotediffusion-v2@fp16', backend: 'wasm' });
    expect(installs).toHaveLength(1);
  });
  it('never passes the credentials to a mirror, and honours a requested precision', async () => {
    const { client, installs } = storeClient([]);
    const source = installedModelSource(withHub(SOTEDIFFUSION_V2, 'https://mirror.example.org'), { precision: 'int8' });
    expect(await source({ client, credentials: 'hf_secret', onEvent: () => undefined })).toEqual({ modelId: 'sotediffusion-v2@int8' });
    expect(installs).toEqual([{ id: 'sotediffusion-v2@int8', options: { precision: 'int8' } }]);
  });
});
