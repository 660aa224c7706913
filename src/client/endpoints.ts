/**
 * The endpoints this client answers, as the hosted client names them. Each has its own input defaults
 * (input-schema.ts) and its own model (sote.ts `endpointModelSource`); anything else is an UnknownEndpointError
 * listing these.
 */
import { UnknownEndpointError } from './api-errors.ts';

/** SoteDiffusion (docs/api-contract.md). */
export const SOTE_DIFFUSION_ENDPOINT = 'fal-ai/stable-cascade/sote-diffusion';
/** Stability AI's Stable Cascade (spec §7.4, §10.5). */
export const STABLE_CASCADE_ENDPOINT = 'fal-ai/stable-cascade';

export type EndpointId = typeof SOTE_DIFFUSION_ENDPOINT | typeof STABLE_CASCADE_ENDPOINT;
export const KNOWN_ENDPOINTS: readonly EndpointId[] = [SOTE_DIFFUSION_ENDPOINT, STABLE_CASCADE_ENDPOINT];

export function isKnownEndpoint(endpointId: string): endpointId is EndpointId {
  return (KNOWN_ENDPOINTS as readonly string[]).includes(endpointId);
}

/** The endpoint id, or an UnknownEndpointError (404) naming the known ones. */
export function knownEndpoint(endpointId: string): EndpointId {
  if (!isKnownEndpoint(endpointId)) throw new UnknownEndpointError(endpointId, KNOWN_ENDPOINTS);
  return endpointId;
}
