// Reads a GGUF file's header (key/values and tensor table) without loading tensor data, and checks that the
// file holds every byte the table promises. Used to refuse a bad model file in JS before llama.cpp sees it.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import {
  GGML_TYPE_SIZES,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GgufValueType,
  type GgufTensorInfo,
  type GgufValue,
} from './format.js';

export class GgufFormatError extends Error {
  constructor(path: string, reason: string) {
    super(`${path} is not a valid GGUF model file: ${reason}`);
    this.name = 'GgufFormatError';
  }
}

export interface GgufHeader {
  version: number;
  kv: Map<string, GgufValue>;
  tensors: GgufTensorInfo[];
  dataOffset: number;
  fileSize: number;
}

// Arrays longer than this (tokenizer vocabularies) are skipped, not kept: only their length is recorded.
const MAX_KEPT_ARRAY = 4096;
const MAX_HEADER_BYTES = 256 * 1024 * 1024;

class FileCursor {
  private buf = Buffer.alloc(0);
  private bufStart = 0;
  pos = 0;
  constructor(
    private fd: number,
    readonly size: number,
    private path: string,
  ) {}

  private need(n: number): void {
    if (this.pos + n > this.size)
      throw new GgufFormatError(this.path, `truncated header (needs byte ${this.pos + n}, file has ${this.size})`);
    if (this.pos + n > MAX_HEADER_BYTES) throw new GgufFormatError(this.path, 'header larger than 256 MiB');
    if (this.pos >= this.bufStart && this.pos + n <= this.bufStart + this.buf.length) return;
    const len = Math.min(Math.max(n, 1 << 20), this.size - this.pos);
    this.buf = Buffer.alloc(len);
    readSync(this.fd, this.buf, 0, len, this.pos);
    this.bufStart = this.pos;
  }
  // Ensures n bytes are buffered at pos, then reads them with `read` (which must not run before the refill).
  private take<T>(n: number, read: (b: Buffer, offset: number) => T): T {
    this.need(n);
    const off = this.pos - this.bufStart;
    this.pos += n;
    return read(this.buf, off);
  }
  u8(): number {
    return this.take(1, (b, o) => b.readUInt8(o));
  }
  i8(): number {
    return this.take(1, (b, o) => b.readInt8(o));
  }
  u16(): number {
    return this.take(2, (b, o) => b.readUInt16LE(o));
  }
  i16(): number {
    return this.take(2, (b, o) => b.readInt16LE(o));
  }
  u32(): number {
    return this.take(4, (b, o) => b.readUInt32LE(o));
  }
  i32(): number {
    return this.take(4, (b, o) => b.readInt32LE(o));
  }
  f32(): number {
    return this.take(4, (b, o) => b.readFloatLE(o));
  }
  f64(): number {
    return this.take(8, (b, o) => b.readDoubleLE(o));
  }
  u64(): bigint {
    return this.take(8, (b, o) => b.readBigUInt64LE(o));
  }
  i64(): bigint {
    return this.take(8, (b, o) => b.readBigInt64LE(o));
  }
  count(what: string, max: number): number {
    const v = this.u64();
    if (v > BigInt(max)) throw new GgufFormatError(this.path, `implausible ${what} (${v})`);
    return Number(v);
  }
  str(): string {
    const len = this.count('string length', 64 * 1024 * 1024);
    return this.take(len, (b, o) => b.toString('utf8', o, o + len));
  }
}

function readValue(c: FileCursor, type: number, path: string): GgufValue {
  switch (type) {
    case GgufValueType.UINT8:
      return c.u8();
    case GgufValueType.INT8:
      return c.i8();
    case GgufValueType.UINT16:
      return c.u16();
    case GgufValueType.INT16:
      return c.i16();
    case GgufValueType.UINT32:
      return c.u32();
    case GgufValueType.INT32:
      return c.i32();
    case GgufValueType.FLOAT32:
      return c.f32();
    case GgufValueType.BOOL:
      return c.u8() !== 0;
    case GgufValueType.STRING:
      return c.str();
    case GgufValueType.UINT64:
      return c.u64();
    case GgufValueType.INT64:
      return c.i64();
    case GgufValueType.FLOAT64:
      return c.f64();
    case GgufValueType.ARRAY: {
      const itemType = c.u32();
      if (itemType === GgufValueType.ARRAY) throw new GgufFormatError(path, 'nested arrays');
      const n = c.count('array length', 1 << 28);
      const items: GgufValue[] = [];
      for (let i = 0; i < n; i++) {
        const v = readValue(c, itemType, path);
        if (n <= MAX_KEPT_ARRAY) items.push(v);
      }
      return (n <= MAX_KEPT_ARRAY ? items : [`<${n} items>`]) as GgufValue;
    }
    default:
      throw new GgufFormatError(path, `unknown value type ${type}`);
  }
}

export function readGgufHeader(path: string): GgufHeader {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new GgufFormatError(
      path,
      (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message,
    );
  }
  try {
    const size = fstatSync(fd).size;
    const c = new FileCursor(fd, size, path);
    if (size < 24 || c.u32() !== GGUF_MAGIC) throw new GgufFormatError(path, 'no GGUF magic at the start of the file');
    const version = c.u32();
    if (version < 2 || version > 3) throw new GgufFormatError(path, `unsupported GGUF version ${version}`);
    const nTensors = c.count('tensor count', 1 << 20);
    const nKv = c.count('key/value count', 1 << 20);
    const kv = new Map<string, GgufValue>();
    for (let i = 0; i < nKv; i++) {
      const key = c.str();
      kv.set(key, readValue(c, c.u32(), path));
    }
    const tensors: GgufTensorInfo[] = [];
    for (let i = 0; i < nTensors; i++) {
      const name = c.str();
      const nDims = c.u32();
      if (nDims < 1 || nDims > 4) throw new GgufFormatError(path, `tensor ${name} has ${nDims} dimensions`);
      const dims: number[] = [];
      for (let d = 0; d < nDims; d++) dims.push(c.count(`dimension of ${name}`, 2 ** 40));
      tensors.push({ name, dims, type: c.u32(), offset: c.count(`offset of ${name}`, 2 ** 50) });
    }
    const alignment = Number(kv.get('general.alignment') ?? GGUF_DEFAULT_ALIGNMENT);
    const dataOffset = Math.ceil(c.pos / alignment) * alignment;
    for (const t of tensors) {
      const n = t.dims.reduce((a, b) => a * b, 1);
      const sizes = GGML_TYPE_SIZES[t.type];
      const bytes = sizes ? Math.ceil(n / sizes[1]) * sizes[0] : 1;
      if (dataOffset + t.offset + bytes > size) {
        throw new GgufFormatError(
          path,
          `truncated: tensor ${t.name} ends at byte ${dataOffset + t.offset + bytes}, the file has ${size}`,
        );
      }
    }
    return { version, kv, tensors, dataOffset, fileSize: size };
  } finally {
    closeSync(fd);
  }
}
