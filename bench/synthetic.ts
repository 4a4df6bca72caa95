// The stand-in for a million real encodes that bench/million and bench/ivfpq-scan share (why it stands in: the
// comment at the top of bench/million.ts): n/50 cluster centres in a 256-d subspace of the 4096-d space, with
// weights decaying as 1/sqrt(rank), each vector its centre plus isotropic noise, all from one seed.
import { seededRandom } from '../src/models/random-models.js';

export const DIM = 4096;
const SUBSPACE = 256, NOISE = 0.75;

/** The data: cluster centres with a decaying spectrum, a vector = its centre + noise, all from one seed. */
export function makeSource(n: number, seed: number) {
  const rand = seededRandom(seed);
  const clusters = Math.max(10, Math.round(n / 50));
  const basis = new Float32Array(SUBSPACE * DIM).map(() => rand() * 2 - 1);
  const centres = new Float32Array(clusters * DIM);
  for (let c = 0; c < clusters; c++) {
    const row = centres.subarray(c * DIM, (c + 1) * DIM);
    for (let b = 0; b < SUBSPACE; b++) {
      const w = (rand() * 2 - 1) / Math.sqrt(b + 1);
      const v = basis.subarray(b * DIM, (b + 1) * DIM);
      for (let i = 0; i < DIM; i++) row[i]! += w * v[i]!;
    }
    normalize(row);
  }
  const noiseScale = NOISE * Math.sqrt(3 / DIM);
  return {
    clusters,
    point(out: Float32Array, c: number) {
      const centre = centres.subarray(c * DIM, (c + 1) * DIM);
      for (let i = 0; i < DIM; i++) out[i] = centre[i]! + (rand() * 2 - 1) * noiseScale;
      normalize(out);
    },
    random: rand,
  };
}
function normalize(v: Float32Array) {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  const f = 1 / Math.sqrt(s);
  for (let i = 0; i < v.length; i++) v[i]! *= f;
}
