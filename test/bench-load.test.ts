// The benches' shared measuring: queries per second asks each query exactly once with at most the given number in
// flight, and the synthetic queries are the same whether or not gallery vectors were drawn first (a bench that builds
// and one that loads a kept index must ask the same queries).
import { describe, expect, it } from 'vitest';
import { queriesPerSecond } from '../bench/load.js';
import { DIM, makeSource } from '../bench/synthetic.js';

describe('bench measuring', () => {
  it('asks every query once, with the number in flight it was given', async () => {
    for (const inFlight of [1, 8, 32]) {
      const asked: number[] = [];
      let now = 0,
        most = 0;
      const qps = await queriesPerSecond(
        async (q) => {
          asked.push(q);
          most = Math.max(most, ++now);
          await new Promise((r) => setImmediate(r));
          now--;
        },
        100,
        inFlight,
      );
      expect(asked.sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
      expect(most).toBe(inFlight);
      expect(qps).toBeGreaterThan(0);
    }
  });

  it('draws the same synthetic queries after building as after loading', () => {
    const built = makeSource(500, 42),
      loaded = makeSource(500, 42);
    const v = new Float32Array(DIM);
    for (let i = 0; i < 500; i++) built.point(v, i % built.clusters);
    expect(built.queries(4)).toEqual(loaded.queries(4));
  });
});
