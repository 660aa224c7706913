import { describe, expect, it } from 'vitest';
import { isRegisteredErrorName, registerErrorClasses, reviveSoteError, SoteError } from './sote-error.ts';

class ProbeError extends SoteError {
  override readonly name = 'ProbeError';
  constructor(what: string) {
    super(`probe failed: ${what}`, 'do the other thing', { what, attempt: 2 });
  }
}

describe('SoteError registry', () => {
  it('revives a registered class with its prototype, message, remedy and detail', () => {
    registerErrorClasses({ ProbeError });
    expect(isRegisteredErrorName('ProbeError')).toBe(true);
    const original = new ProbeError('x');
    const wire = { soteError: true as const, name: original.name, message: original.message, stack: original.stack, remedy: original.remedy, detail: original.detail };
    const revived = reviveSoteError(structuredClone(wire));
    expect(revived).toBeInstanceOf(ProbeError);
    expect(revived).toBeInstanceOf(SoteError);
    expect(revived.message).toBe('probe failed: x — do the other thing');
    expect((revived as ProbeError).remedy).toBe('do the other thing');
    expect((revived as ProbeError).detail).toEqual({ what: 'x', attempt: 2 });
  });

  it('gives a plain Error with the same name and message for an unknown name', () => {
    expect(isRegisteredErrorName('NeverRegisteredError')).toBe(false);
    const revived = reviveSoteError({ soteError: true, name: 'NeverRegisteredError', message: 'm', stack: undefined, remedy: 'r', detail: {} });
    expect(revived).not.toBeInstanceOf(SoteError);
    expect(revived).toBeInstanceOf(Error);
    expect(revived.name).toBe('NeverRegisteredError');
    expect(revived.message).toBe('m');
  });
});
