import { describe, expect, it } from 'vitest';
import { SerialCalls } from './serial-calls.ts';

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 1));

describe('SerialCalls', () => {
  it('runs calls one after another in call order, never overlapping', async () => {
    const calls = new SerialCalls<string>();
    const log: string[] = [];
    let active = 0;
    const work = (name: string, ticks: number) => calls.run(async () => {
      active++;
      expect(active).toBe(1);
      log.push(`${name} start`);
      for (let i = 0; i < ticks; i++) await tick();
      log.push(`${name} end`);
      active--;
      return name;
    });
    await expect(Promise.all([work('a', 3), work('b', 1), work('c', 2)])).resolves.toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
  });

  it('a failed call rejects to its caller only; the next call still runs', async () => {
    const calls = new SerialCalls<string>();
    const failed = calls.run(async () => {
      throw new Error('boom');
    });
    const next = calls.run(async () => 'ran');
    await expect(failed).rejects.toThrow('boom');
    await expect(next).resolves.toBe('ran');
  });

  it('events go to the running call\'s listener only; none outside a call', async () => {
    const calls = new SerialCalls<string>();
    const a: string[] = [];
    const b: string[] = [];
    calls.emit('before');
    const first = calls.run(async () => {
      await tick();
      calls.emit('a1');
    }, (e) => a.push(e));
    const second = calls.run(async () => calls.emit('b1'), (e) => b.push(e));
    const third = calls.run(async () => calls.emit('nobody'));
    await Promise.all([first, second, third]);
    calls.emit('after');
    expect(a).toEqual(['a1']);
    expect(b).toEqual(['b1']);
  });

  it('a listener that throws or rejects does not fail the call', async () => {
    const calls = new SerialCalls<string>();
    await expect(calls.run(async () => {
      calls.emit('x');
      return 1;
    }, () => { throw new Error('page gone'); })).resolves.toBe(1);
    await expect(calls.run(async () => {
      calls.emit('x');
      return 2;
    }, () => Promise.reject(new Error('page gone')))).resolves.toBe(2);
  });
});
