// NumPy's .npy format, version 1.0, for arrays written row by row: the header (magic, version, a Python dict literal
// padded to 64 bytes) is known before the first row, so rows stream behind it. Data is little-endian, C order.
// https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
import { openSync, readSync, closeSync } from 'node:fs';

export type NpyDtype = '<f4' | '<f2' | '<i8';

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
const ALIGN = 64;

/** The header of an array of `shape` and `dtype`; its rows follow it directly. */
export function npyHeader(dtype: NpyDtype, shape: number[]): Buffer {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  const dict = `{'descr': '${dtype}', 'fortran_order': False, 'shape': (${dims}), }`;
  const unpadded = MAGIC.length + 2 + 2 + dict.length + 1; // magic, version, header length, dict, newline
  const padding = (ALIGN - (unpadded % ALIGN)) % ALIGN;
  const text = `${dict}${' '.repeat(padding)}\n`;
  const head = Buffer.alloc(MAGIC.length + 4);
  MAGIC.copy(head);
  head[6] = 1; // version 1.0: the header's length is a 16-bit word
  head[7] = 0;
  head.writeUInt16LE(text.length, 8);
  return Buffer.concat([head, Buffer.from(text, 'latin1')]);
}

export interface NpyInfo {
  dtype: NpyDtype;
  shape: number[];
  dataOffset: number;
}

/** Reads the header of an .npy file written by `npyHeader` (or numpy, with the dtypes above, in C order). */
export function readNpyHeader(path: string): NpyInfo {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(10);
    if (readSync(fd, head, 0, 10, 0) !== 10 || !head.subarray(0, 6).equals(MAGIC) || head[6] !== 1) {
      throw new Error(`${path} is not an .npy file of version 1.0`);
    }
    const length = head.readUInt16LE(8);
    const text = Buffer.alloc(length);
    readSync(fd, text, 0, length, 10);
    const dict = text.toString('latin1');
    const dtype = /'descr':\s*'([^']+)'/.exec(dict)?.[1];
    const shape = /'shape':\s*\(([^)]*)\)/.exec(dict)?.[1];
    const cOrder = /'fortran_order':\s*False/.test(dict);
    if (!dtype || !['<f4', '<f2', '<i8'].includes(dtype) || shape === undefined || !cOrder) {
      throw new Error(
        `${path} holds an array this reader does not take (${dict.trim()}): ` + 'little-endian f4, f2 or i8 in C order',
      );
    }
    return {
      dtype: dtype as NpyDtype,
      shape: shape
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
        .map(Number),
      dataOffset: 10 + length,
    };
  } finally {
    closeSync(fd);
  }
}
