// bench/prepare: what an upload costs before the encoder, per size and format: the decode to the encoder's input
// (sharp's decode, then the resize in JS as transformers' processor does it) for the 8B tower's default limits (32 px
// per token side, 64 to 256 tokens), and the whole of prepareImage, which adds the thumbnail made from the upload
// itself (a second decode). Noise pictures, the median of 5 runs after one warm-up.
//   npx tsx bench/prepare.ts
import sharp from 'sharp';
import { decodeForEncoder, type SizeLimits } from '../src/engine/image/decode.js';
import { prepareImage } from '../src/engine/image/prepare.js';
import { median, table, timed } from './common.js';

const LIMITS: SizeLimits = { align: 32, minPixels: 64 * 32 * 32, maxPixels: 256 * 32 * 32 };
const OPTIONS = { maxInputPixels: 50_000_000 };
const decoder = { decode: (data: Buffer) => decodeForEncoder(data, LIMITS, OPTIONS) };

async function picture(width: number, height: number, format: 'jpeg' | 'png'): Promise<Buffer> {
  const noise = sharp({
    create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } },
  });
  return format === 'jpeg' ? noise.jpeg({ quality: 90 }).toBuffer() : noise.png().toBuffer();
}

async function medianMs(fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const ms: number[] = [];
  for (let i = 0; i < 5; i++) ms.push((await timed(fn))[1]);
  return median(ms);
}

const rows: (string | number)[][] = [];
for (const [width, height] of [
  [640, 480],
  [4000, 3000],
] as const) {
  for (const format of ['jpeg', 'png'] as const) {
    const data = await picture(width, height, format);
    const decode = await medianMs(() => decoder.decode(data));
    const prepare = await medianMs(() => prepareImage(decoder, data));
    rows.push([`${width}x${height} ${format}`, decode.toFixed(1), prepare.toFixed(1), (prepare - decode).toFixed(1)]);
  }
}
console.log(table(['upload', 'decode for the encoder (ms)', 'prepareImage (ms)', 'thumbnail (ms)'], rows));
