import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { processTree, pssBytes, rssBytes } from './scale-support.ts';

describe('scale benchmark process accounting', () => {
  // Chromium's children carry the profile flag that selects the roots, so a root is often also a descendant.
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  afterAll(() => {
    child.kill();
  });

  it('lists a pid once when it is both a root and a descendant of another root', () => {
    const pids = processTree([process.pid, child.pid!, process.pid]);
    expect(pids.filter((p) => p === child.pid)).toHaveLength(1);
    expect(pids.filter((p) => p === process.pid)).toHaveLength(1);
    expect(new Set(pids).size).toBe(pids.length);
  });

  it('sums each process once, and PSS never exceeds RSS', () => {
    // The sleeping child's memory does not change: counting it twice would double it exactly.
    expect(rssBytes(processTree([child.pid!, child.pid!]))).toBe(rssBytes([child.pid!]));
    expect(rssBytes([child.pid!])).toBeGreaterThan(0);
    expect(pssBytes([process.pid])).toBeGreaterThan(0);
    expect(pssBytes([process.pid])).toBeLessThanOrEqual(rssBytes([process.pid]));
  });
});
