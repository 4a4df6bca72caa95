// Writes a GGUF file: typed key/values and F32/F16/BF16/Q8_0 tensors. Used to make the random test and benchmark
// models.
import { closeSync, openSync, renameSync, writeSync } from 'node:fs';
import { GGML_TYPE_SIZES, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GgmlType, GgufValueType } from './format.js';
import { toHalf } from '../../core/util/vector-format.js';

export type GgufKv =
  | { type: 'u32' | 'i32' | 'f32' | 'u64'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'str'; value: string }
  | { type: 'i32[]' | 'f32[]'; value: number[] }
  | { type: 'str[]'; value: string[] };

export interface GgufTensorData {
  name: string;
  dims: number[]; // ggml order: dims[0] is the fastest-varying
  type: GgmlType;
  data: Float32Array;
}

class ByteSink {
  private chunks: Buffer[] = [];
  length = 0;
  push(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  i32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    this.push(b);
  }
  f32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.push(b);
  }
  u64(v: number | bigint): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  pad(alignment: number): void {
    const r = this.length % alignment;
    if (r) this.push(Buffer.alloc(alignment - r));
  }
  concat(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function writeKv(s: ByteSink, key: string, kv: GgufKv): void {
  s.str(key);
  switch (kv.type) {
    case 'u32':
      s.u32(GgufValueType.UINT32);
      s.u32(kv.value);
      break;
    case 'i32':
      s.u32(GgufValueType.INT32);
      s.i32(kv.value);
      break;
    case 'f32':
      s.u32(GgufValueType.FLOAT32);
      s.f32(kv.value);
      break;
    case 'u64':
      s.u32(GgufValueType.UINT64);
      s.u64(kv.value);
      break;
    case 'bool':
      s.u32(GgufValueType.BOOL);
      s.push(Buffer.from([kv.value ? 1 : 0]));
      break;
    case 'str':
      s.u32(GgufValueType.STRING);
      s.str(kv.value);
      break;
    case 'i32[]':
      s.u32(GgufValueType.ARRAY);
      s.u32(GgufValueType.INT32);
      s.u64(kv.value.length);
      kv.value.forEach((v) => s.i32(v));
      break;
    case 'f32[]':
      s.u32(GgufValueType.ARRAY);
      s.u32(GgufValueType.FLOAT32);
      s.u64(kv.value.length);
      kv.value.forEach((v) => s.f32(v));
      break;
    case 'str[]':
      s.u32(GgufValueType.ARRAY);
      s.u32(GgufValueType.STRING);
      s.u64(kv.value.length);
      kv.value.forEach((v) => s.str(v));
      break;
  }
}

function byteSize(type: GgmlType, n: number): number {
  const [bytes, block] = GGML_TYPE_SIZES[type]!;
  if (n % block) throw new Error(`${n} values do not fill whole blocks of ${block} for ggml type ${type}`);
  return (n / block) * bytes;
}

function tensorBytes(t: GgufTensorData): Buffer {
  const n = t.dims.reduce((a, b) => a * b, 1);
  if (t.data.length !== n) throw new Error(`tensor ${t.name}: ${t.data.length} values for dims ${t.dims.join('x')}`);
  if (t.type === GgmlType.F32) return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const out = Buffer.alloc(byteSize(t.type, n));
  if (t.type === GgmlType.F16) for (let i = 0; i < n; i++) out.writeUInt16LE(toHalf(t.data[i]!), i * 2);
  else if (t.type === GgmlType.BF16) for (let i = 0; i < n; i++) out.writeUInt16LE(toBf16(t.data[i]!), i * 2);
  else quantizeQ8_0(t.data, out);
  return out;
}

// ggml's quantize_row_q8_0_ref: blocks of 32 values as one half-precision scale (max |x| / 127) and 32 int8.
function quantizeQ8_0(x: Float32Array, out: Buffer): void {
  for (let b = 0; b < x.length / 32; b++) {
    let amax = 0;
    for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[b * 32 + i]!));
    const d = amax / 127;
    const id = d ? 1 / d : 0;
    out.writeUInt16LE(toHalf(d), b * 34);
    for (let i = 0; i < 32; i++) out.writeInt8(Math.round(x[b * 32 + i]! * id), b * 34 + 2 + i);
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

// float32 -> bfloat16 (its upper 16 bits), round to nearest even, as ggml_compute_fp32_to_bf16.
export function toBf16(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  if ((x & 0x7fffffff) > 0x7f800000) return (x >>> 16) | 64; // NaN stays NaN
  return ((x + (0x7fff + ((x >>> 16) & 1))) >>> 16) & 0xffff;
}

// Writes to a temporary name and renames, so a reader never sees half a model.
// Tensor data is written one tensor at a time, so a 1 GB file never sits in memory whole.
export function writeGguf(
  path: string,
  kv: Record<string, GgufKv>,
  tensors: (GgufTensorData | (() => GgufTensorData))[],
  tensorInfos?: { name: string; dims: number[]; type: GgmlType }[],
): void {
  const infos = tensorInfos ?? (tensors as GgufTensorData[]).map(({ name, dims, type }) => ({ name, dims, type }));
  const header = new ByteSink();
  header.u32(GGUF_MAGIC);
  header.u32(3);
  header.u64(infos.length);
  header.u64(Object.keys(kv).length);
  for (const [key, value] of Object.entries(kv)) writeKv(header, key, value);
  let offset = 0;
  for (const t of infos) {
    header.str(t.name);
    header.u32(t.dims.length);
    t.dims.forEach((d) => header.u64(d));
    header.u32(t.type);
    header.u64(offset);
    const n = t.dims.reduce((a, b) => a * b, 1);
    offset += Math.ceil(byteSize(t.type, n) / GGUF_DEFAULT_ALIGNMENT) * GGUF_DEFAULT_ALIGNMENT;
  }
  header.pad(GGUF_DEFAULT_ALIGNMENT);
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, header.concat());
    for (const entry of tensors) {
      const t = typeof entry === 'function' ? entry() : entry;
      const bytes = tensorBytes(t);
      writeSync(fd, bytes);
      const r = bytes.length % GGUF_DEFAULT_ALIGNMENT;
      if (r) writeSync(fd, Buffer.alloc(GGUF_DEFAULT_ALIGNMENT - r));
    }
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
