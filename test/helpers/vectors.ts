// Synthetic unit vectors and gallery fixtures for storage and index tests.
import type { EncoderIdentity } from '../../src/core/identity.js';
import { l2Normalize } from '../../src/engine/encoder/vision-encoder.js';
import { seededRandom } from './random-text-model.js';

export function identity(dim: number, name = 'a'): EncoderIdentity {
  return {
    modelId: `test-${name}-${dim}`,
    fingerprint: name.repeat(64).slice(0, 64),
    fileName: `${name}.gguf`,
    projectorType: 'qwen3vl_merger',
    dim,
    pooling: 'mean',
    minTokens: 64,
    maxTokens: 256,
    projectionDim: dim,
    deepstackLayers: [],
  };
}

/** n unit vectors around `clusters` random centres: what real embeddings look like to an ANN index. */
export function clusteredVectors(n: number, dim: number, clusters: number, seed = 1, spread = 0.3): Float32Array[] {
  const rand = seededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const centres = Array.from({ length: clusters }, () => l2Normalize(Float32Array.from({ length: dim }, gauss)));
  return Array.from({ length: n }, (_, i) => {
    const c = centres[i % clusters]!;
    return l2Normalize(Float32Array.from(c, (v) => v + (spread / Math.sqrt(dim)) * gauss()));
  });
}

export function fakeImage(i: number) {
  return {
    sha256: i.toString(16).padStart(64, '0'),
    bytes: 100 + i,
    width: 64,
    height: 48,
    thumbnail: Buffer.from([i & 255]),
  };
}
