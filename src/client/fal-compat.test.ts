/**
 * The drop-in claims that are not types: the documented-calls files differ only in their import line (so the
 * type check of the sote copy proves the hosted client's code compiles with only the import changed), and the
 * stream object behaves as the hosted FalStream (buffering, listeners, done(), abort()).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SoteStream } from './fal-stream.ts';

const here = import.meta.dirname;
/** A docs file without its first comment line and its import line. */
const body = (name: string) => readFileSync(join(here, name), 'utf8').split('\n').slice(2).join('\n');
const importLine = (name: string) => readFileSync(join(here, name), 'utf8').split('\n')[1];

describe('fal-compat documented calls', () => {
  it('the sote copy is the hosted copy with only the import changed', () => {
    expect(body('fal-compat-docs.sote.typetest.ts')).toBe(body('fal-compat-docs.hosted.typetest.ts'));
    expect(body('fal-compat-docs.sote.typetest.ts')).toContain('fal.subscribe("fal-ai/stable-cascade/sote-diffusion"');
    expect(importLine('fal-compat-docs.hosted.typetest.ts')).toMatch(/from "@fal-ai\/client";$/);
    expect(importLine('fal-compat-docs.sote.typetest.ts')).toMatch(/from "\.\/index\.ts";$/);
    expect(importLine('fal-compat-docs.hosted.typetest.ts').replace('"@fal-ai/client"', '')).toBe(importLine('fal-compat-docs.sote.typetest.ts').replace('"./index.ts"', ''));
  });
});

describe('SoteStream', () => {
  it('delivers events to listeners and to an iterator started late (buffered), then done() resolves', async () => {
    const stream = new SoteStream<number, string>('r1', () => undefined);
    const seen: number[] = [];
    const done: string[] = [];
    stream.on('data', (n) => seen.push(n));
    stream.on('done', (v) => done.push(v));
    stream.push(1);
    stream.push(2);
    const iterated = (async () => {
      const out: number[] = [];
      for await (const n of stream) out.push(n);
      return out;
    })();
    stream.push(3);
    stream.finish('end');
    stream.push(4); // after the end: ignored
    expect(await iterated).toEqual([1, 2, 3]);
    expect(seen).toEqual([1, 2, 3]);
    expect(done).toEqual(['end']);
    expect(await stream.done()).toBe('end');
    expect(stream.requestId).toBe('r1');
  });

  it('an error reaches on("error") and done(); iteration ends quietly', async () => {
    const stream = new SoteStream<number, string>('r2', () => undefined);
    const errors: unknown[] = [];
    stream.on('error', (e) => errors.push(e));
    const iterated = (async () => {
      const out: number[] = [];
      for await (const n of stream) out.push(n);
      return out;
    })();
    stream.push(7);
    stream.fail(new Error('boom'));
    expect(await iterated).toEqual([7]);
    expect(errors).toHaveLength(1);
    await expect(stream.done()).rejects.toThrow('boom');
  });

  it('abort() runs the owner action once, emits no error, rejects done() and signals', async () => {
    const reasons: unknown[] = [];
    const stream = new SoteStream<number, string>('r3', (r) => reasons.push(r));
    const errors: unknown[] = [];
    stream.on('error', (e) => errors.push(e));
    stream.abort('user closed the panel');
    stream.abort();
    stream.finish('late');
    expect(reasons).toHaveLength(1);
    expect(errors).toEqual([]);
    expect(stream.signal.aborted).toBe(true);
    await expect(stream.done()).rejects.toThrow('user closed the panel');
  });
});
