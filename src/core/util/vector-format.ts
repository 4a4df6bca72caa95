// The stored vector format: half-precision floats (IEEE 754 binary16): Node 20 has no Float16Array. Encoding rounds to
// nearest even; decoding goes through a 65536-entry table (256 KB), so a 4096-d vector decodes in microseconds.
import { dot } from './vectors.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function toHalf(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf, NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow: Inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow: zero
    mant |= 0x800000; // subnormal: shift the implicit bit in, round to nearest even
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && m & 1)) m++;
    return sign | m;
  }
  let h = sign | (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++; // may carry into the exponent, which is right
  return h;
}

function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

const TABLE = Float32Array.from({ length: 65536 }, (_, h) => fromHalf(h));
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** F16 bytes as 16-bit words read in place (one load per value, not two byte loads), when the CPU is little-endian
 *  and the bytes start at an even offset; else null. */
function halfWords(b: Uint8Array): Uint16Array | null {
  return LITTLE_ENDIAN && b.byteOffset % 2 === 0 ? new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2) : null;
}

/** F32 -> little-endian F16 bytes. */
export function encodeHalf(v: Float32Array): Buffer {
  const out = Buffer.allocUnsafe(v.length * 2);
  for (let i = 0; i < v.length; i++) out.writeUInt16LE(toHalf(v[i]!), i * 2);
  return out;
}

/** Little-endian F16 bytes -> F32, into `out` at `offset` when given. */
export function decodeHalf(b: Uint8Array, out = new Float32Array(b.byteLength / 2), offset = 0): Float32Array {
  const n = b.byteLength / 2;
  const h = halfWords(b);
  if (h) {
    for (let i = 0; i < n; i++) out[offset + i] = TABLE[h[i]!]!;
  } else {
    for (let i = 0; i < n; i++) out[offset + i] = TABLE[b[2 * i]! | (b[2 * i + 1]! << 8)]!;
  }
  return out;
}

/** How the store keeps a vector: F16 (half the bytes; cosine to F32 above 0.99999 on real encodes, bench/f16.ts). */
export const vectorToBlob = encodeHalf;

/** A stored vector of `dim` dimensions: F16, or F32 as data folders made before F16 hold them (they keep working). */
export function blobToVector(b: Uint8Array, dim: number): Float32Array {
  if (b.byteLength === 2 * dim) return decodeHalf(b);
  if (b.byteLength !== 4 * dim)
    throw new Error(`a stored vector of ${b.byteLength} bytes is neither F16 nor F32 of ${dim} dimensions`);
  // copy: the bytes may sit in a shared pool at an offset that is not 4-byte aligned
  const out = new Float32Array(dim);
  new Uint8Array(out.buffer).set(b);
  return out;
}

/** The inner product of a stored vector with `q`, read in place (re-scoring 100 candidates of 4096 dims: no 1.6 MB
 *  of decoded copies). The same products and sum as `dot(blobToVector(b, q.length), q)`. */
export function storedDot(b: Uint8Array, q: Float32Array): number {
  const h = b.byteLength === 2 * q.length ? halfWords(b) : null;
  if (!h) return dot(blobToVector(b, q.length), q);
  let s = 0;
  for (let i = 0; i < q.length; i++) s += TABLE[h[i]!]! * q[i]!;
  return s;
}

/** The vector as the store will give it back: the index gets this at add, so a rebuild from SQLite finds the same. */
export function asStored(v: Float32Array): Float32Array {
  return decodeHalf(encodeHalf(v));
}
