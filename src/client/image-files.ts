/** Image file helpers for pages and API users: PNGs that carry their generation parameters (A1111 style). */
export {
  encodePngWithParameters,
  formatParameters,
  parseParameters,
  readPngParameters,
  type GenerationParameters,
  type RgbImage,
} from '../pipeline/png.ts';
