// Vector arithmetic the search paths share.

/** The inner product: the cosine of two unit vectors (summed in double precision). */
export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
