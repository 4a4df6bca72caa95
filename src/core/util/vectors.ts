// Vector arithmetic the search paths share.

/** The inner product: the cosine of two unit vectors (summed in double precision). */
export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/**
 * A similarity score from an inner product of unit vectors, kept in [-1, 1]: the stored vectors are float16, so a
 * picture's own vector against its query sums to a little over 1 (1.00005).
 */
export function cosineScore(innerProduct: number): number {
  return Math.min(1, Math.max(-1, innerProduct));
}
