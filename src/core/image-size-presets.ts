/**
 * fal toolkit IMAGE_SIZE_PRESETS, width × height (spec §10.5): the named sizes the hosted endpoint accepts.
 * One table for the client's input schema and the CLI's --image-size.
 */
export const IMAGE_SIZE_PRESETS = {
  square_hd: { width: 1024, height: 1024 },
  square: { width: 512, height: 512 },
  portrait_4_3: { width: 768, height: 1024 },
  portrait_16_9: { width: 576, height: 1024 },
  landscape_4_3: { width: 1024, height: 768 },
  landscape_16_9: { width: 1024, height: 576 },
} as const satisfies Record<string, { width: number; height: number }>;

export type ImageSizePreset = keyof typeof IMAGE_SIZE_PRESETS;

export function isImageSizePreset(name: string): name is ImageSizePreset {
  return Object.hasOwn(IMAGE_SIZE_PRESETS, name);
}
