// The stand-in for a million real encodes that bench/million, bench/search and bench/ivfpq-scan share (why it stands
// in: the comment at the top of bench/million.ts): n/5 cluster centres in a 256-d subspace of the 4096-d space, with
// weights decaying as 1/sqrt(rank), each vector its centre plus isotropic noise of norm SPREAD (the centre has norm 1),
// all from one seed. Queries come from a stream of their own, so a bench draws the same queries whether it has just
// built its index or loads a kept one.
import { availableParallelism } from 'node:os';
import type { GalleryOptions } from '../src/engine/gallery/gallery.js';
import type { IndexKind, IndexParams } from '../src/engine/index/kinds.js';
import { seededRandom } from '../test/helpers/random-text-model.js';
import { identity } from '../test/helpers/vectors.js';

export const DIM = 4096;
const SUBSPACE = 256;
/** The noise's norm against the unit centre: cosine to the centre about 0.8. */
export const SPREAD = 0.75;
/** Vectors per cluster. At 50 a query's 10 nearest all shared its cluster, hence one IVF list: recall@10 was 0.95 at
 *  nprobe 1 (0.994 at 1M), which real embeddings do not give. At 5 a query's neighbours span clusters and lists:
 *  0.656 at nprobe 1, 0.878 at 4, 0.984 at 16, at 10,000 vectors (bench/synthetic-recall.ts, a loaded machine). */
export const PER_CLUSTER = 5;

/** What changes the vectors: part of every cache key and of the benches' JSON rows. */
export const describeSynthetic = (seed: number, spread = SPREAD, perCluster = PER_CLUSTER) =>
  `synthetic-v2(spread ${spread}, ${perCluster} per cluster, seed ${seed})`;

export type Source = ReturnType<typeof makeSource>;

/** The data: cluster centres with a decaying spectrum, a vector = its centre + noise, all from one seed. */
export function makeSource(n: number, seed: number, spread = SPREAD, perCluster = PER_CLUSTER) {
  const rand = seededRandom(seed);
  const clusters = Math.max(10, Math.round(n / perCluster));
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
  const noiseScale = spread * Math.sqrt(3 / DIM); // uniform noise in [-a, a] per dim has norm a * sqrt(DIM / 3)
  const point = (out: Float32Array, c: number, r = rand) => {
    const centre = centres.subarray(c * DIM, (c + 1) * DIM);
    for (let i = 0; i < DIM; i++) out[i] = centre[i]! + (r() * 2 - 1) * noiseScale;
    normalize(out);
  };
  return {
    clusters,
    /** The next gallery vector of cluster c. */
    point,
    /** `nq` queries, each near a random cluster, from their own seeded stream: the same ones in every run. */
    queries(nq: number, querySeed = seed + 1): Float32Array {
      const r = seededRandom(querySeed);
      const out = new Float32Array(nq * DIM);
      for (let q = 0; q < nq; q++) point(out.subarray(q * DIM, (q + 1) * DIM), Math.floor(r() * clusters), r);
      return out;
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

/** The index settings a folder of these vectors is measured with (LOOKALIKE_NPROBE and LOOKALIKE_EXACT_CANDIDATES
 *  read as a server reads them). */
export const syntheticIndexParams = (warmUp: boolean): IndexParams => ({
  hnswM: 32,
  efSearch: 128,
  nprobe: Number(process.env.LOOKALIKE_NPROBE ?? 16),
  exactCandidates: Number(process.env.LOOKALIKE_EXACT_CANDIDATES ?? 100),
  warmUp,
});

/**
 * How a data folder of these vectors is opened: bench:million builds it, bench:cold-start and
 * bench:duplicates-scale open the one it kept, so all three must give its model identity and index settings.
 */
export function syntheticGallery(
  dataDir: string,
  kind: IndexKind,
  { threads = availableParallelism(), warmUp, log }: { threads?: number; warmUp: boolean; log: (m: string) => void },
): GalleryOptions {
  return {
    dataDir,
    identity: identity(DIM, 'bench'),
    indexKind: kind,
    indexParams: syntheticIndexParams(warmUp),
    faissThreads: threads,
    log,
  };
}
