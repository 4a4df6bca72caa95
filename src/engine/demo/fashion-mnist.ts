// The demo's pictures: Fashion-MNIST (10 kinds of clothes, 28x28 grey), from Debian's dataset-fashion-mnist, which
// scripts/setup.sh installs. The demo models (src/engine/demo/models) were trained on its 60,000 training images only;
// the demo gallery is the first 100 test images of each class, and the next 20 of each are held out as queries, the
// split that scripts/reference/train.py measured PyTorch on and the quality-floor test holds lookalike to.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';

export const FASHION_DIR = process.env.LOOKALIKE_FASHION_MNIST_DIR || '/usr/share/datasets/fashion-mnist';
export const FASHION_CLASSES = [
  't-shirt',
  'trouser',
  'pullover',
  'dress',
  'coat',
  'sandal',
  'shirt',
  'sneaker',
  'bag',
  'ankle boot',
] as const;
export const FASHION_CLASSES_ZH = [
  'T恤',
  '裤子',
  '套头衫',
  '连衣裙',
  '外套',
  '凉鞋',
  '衬衫',
  '运动鞋',
  '包',
  '短靴',
] as const;
export const GALLERY_PER_CLASS = 100;
/**
 * With the demo embedding model (LOOKALIKE_EMBED_MODEL=demo): a words query whose best score in the demo gallery is
 * below this is far from everything. It is the least any class name, in English or Chinese, reaches on a picture of
 * its own class ("trouser"); test/page.test.ts measures it again on the model and gallery of the day.
 */
export const DEMO_WORDS_FLOOR = 0.864;
export const QUERIES_PER_CLASS = 20;

export interface FashionSet {
  images: Uint8Array; // n x 28 x 28 grey, white clothes on black
  labels: Uint8Array;
  count: number;
  side: number;
}

function idx(file: string): { dims: number[]; data: Uint8Array } {
  const path = join(FASHION_DIR, file);
  if (!existsSync(path))
    throw new Error(
      `${path} is missing: the demo's pictures come from Debian's dataset-fashion-mnist (apt-get install ` +
        `dataset-fashion-mnist; npm start installs it)`,
    );
  const raw = gunzipSync(readFileSync(path));
  const n = raw[3]!;
  const dims = Array.from({ length: n }, (_, i) => raw.readUInt32BE(4 + 4 * i));
  return { dims, data: raw.subarray(4 + 4 * n) };
}

export function readFashion(set: 'train' | 't10k'): FashionSet {
  const images = idx(`${set}-images-idx3-ubyte.gz`),
    labels = idx(`${set}-labels-idx1-ubyte.gz`);
  return { images: images.data, labels: labels.data, count: images.dims[0]!, side: images.dims[1]! };
}

/** Test-set indices: the first `galleryPer` of each class are the demo gallery, the next `queriesPer` of each the
 * held-out queries (100 and 20: the demo's split). */
export function demoSplit(
  labels: Uint8Array,
  galleryPer = GALLERY_PER_CLASS,
  queriesPer = QUERIES_PER_CLASS,
): { gallery: number[]; queries: number[] } {
  const seen = new Array<number>(FASHION_CLASSES.length).fill(0);
  const gallery: number[] = [],
    queries: number[] = [];
  labels.forEach((label, i) => {
    const k = seen[label]!++;
    if (k < galleryPer) gallery.push(i);
    else if (k < galleryPer + queriesPer) queries.push(i);
  });
  return { gallery, queries };
}

/** One picture as a PNG. */
export function fashionPng(set: FashionSet, i: number): Promise<Buffer> {
  const px = set.images.subarray(i * set.side * set.side, (i + 1) * set.side * set.side);
  return sharp(Buffer.from(px), { raw: { width: set.side, height: set.side, channels: 1 } })
    .png()
    .toBuffer();
}

export const fashionName = (i: number) => `t10k-${String(i).padStart(5, '0')}.png`;

/** Writes the demo gallery as <folder>/<class>/t10k-NNNNN.png (labels from the folders). It is written beside and
 * renamed into place: a start that fails midway (a full disk) leaves no half gallery for the next start to index. */
export async function writeDemoImages(folder: string): Promise<void> {
  const test = readFashion('t10k');
  const tmp = `${folder}.tmp-${process.pid}`;
  try {
    for (const c of FASHION_CLASSES) mkdirSync(join(tmp, c), { recursive: true });
    for (const i of demoSplit(test.labels).gallery) {
      await writeFile(join(tmp, FASHION_CLASSES[test.labels[i]!]!, fashionName(i)), await fashionPng(test, i));
    }
    renameSync(tmp, folder);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
