/**
 * The store key of an installed model: one entry per descriptor and precision (`sotediffusion-v2@fp16`). The one
 * place this format is written; the page gets it through src/client.
 */
import type { Precision } from '../models/model-context.ts';
import type { ModelDescriptor } from './descriptor.ts';

export function modelIdFor(descriptor: Pick<ModelDescriptor, 'id'>, precision: Precision): string {
  return `${descriptor.id}@${precision}`;
}
