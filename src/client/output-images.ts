/**
 * Generated RGB → PNG Blobs carrying the A1111 `parameters` chunk (src/pipeline/png.ts), and Blobs → the URLs the
 * output schema returns (blob: URLs normally, data:image/png;base64 URIs for sync_mode and webhooks).
 */
import { encodePngWithParameters, type GenerationParameters } from '../pipeline/png.ts';
import type { GeneratedImage } from './protocol.ts';
import type { SoteInput } from './input-schema.ts';
import type { StoredImage } from './request-store.ts';

export function pngParameters(input: SoteInput, seed: number, width: number, height: number, model: string): GenerationParameters {
  return {
    prompt: input.prompt,
    negativePrompt: input.negative_prompt,
    steps: input.first_stage_steps,
    cfgScale: input.guidance_scale,
    sampler: 'official',
    seed: String(seed),
    width,
    height,
    model,
    secondStageSteps: input.second_stage_steps,
    secondStageCfgScale: input.second_stage_guidance_scale,
  };
}

export function encodeImages(images: readonly GeneratedImage[], parameters: (img: GeneratedImage) => GenerationParameters): StoredImage[] {
  return images.map((img) => {
    const png = encodePngWithParameters(img, parameters(img));
    return { blob: new Blob([png as Uint8Array<ArrayBuffer>], { type: 'image/png' }), width: img.width, height: img.height, content_type: 'image/png' };
  });
}

export async function blobToDataUri(blob: Blob): Promise<string> {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let binary = '';
  // Chunks keep String.fromCharCode's argument count far below engine limits.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return `data:${blob.type || 'application/octet-stream'};base64,${btoa(binary)}`;
}
