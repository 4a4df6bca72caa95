// Deterministic test images: random scenes of shapes drawn as SVG and rendered by sharp, from a seed.
import sharp from 'sharp';
import { seededRandom } from './random-text-model.js';

export function sceneSvg(seed: number, width = 320, height = 240): string {
  const rand = seededRandom(seed * 7919 + 17);
  const color = () => `rgb(${Math.floor(rand() * 256)},${Math.floor(rand() * 256)},${Math.floor(rand() * 256)})`;
  const shapes: string[] = [`<rect width="100%" height="100%" fill="${color()}"/>`];
  for (let i = 0; i < 12; i++) {
    const x = rand() * width,
      y = rand() * height,
      s = 10 + rand() * width * 0.4;
    shapes.push(
      rand() < 0.5
        ? `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${(s / 2).toFixed(1)}" fill="${color()}"/>`
        : `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${s.toFixed(1)}" ` +
            `height="${(s * (0.3 + rand())).toFixed(1)}" fill="${color()}" ` +
            `transform="rotate(${Math.floor(rand() * 90)} ${x.toFixed(1)} ${y.toFixed(1)})"/>`,
    );
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${shapes.join('')}</svg>`;
}

export function scenePng(seed: number, width = 320, height = 240): Promise<Buffer> {
  return sharp(Buffer.from(sceneSvg(seed, width, height)))
    .png()
    .toBuffer();
}

/** A resized, re-compressed copy: what a near-duplicate looks like in a real gallery. */
export async function recompressedCopy(png: Buffer, scale = 0.75, quality = 70): Promise<Buffer> {
  const meta = await sharp(png).metadata();
  return sharp(png)
    .resize(Math.round(meta.width! * scale))
    .jpeg({ quality })
    .toBuffer();
}

/** A mild variant of an image: rescaled, re-exposed, re-compressed. Variant j of the same scene is one "class". */
export async function variant(png: Buffer, j: number): Promise<Buffer> {
  const meta = await sharp(png).metadata();
  return sharp(png)
    .resize(Math.round(meta.width! * (0.6 + 0.08 * (j % 6))))
    .modulate({ brightness: 0.92 + 0.03 * (j % 6) })
    .jpeg({ quality: 55 + (j % 8) * 5 })
    .toBuffer();
}

/** Writes an ImageFolder layout: <dir>/<class>/<j>.jpg, `perClass` variants of one scene per class. */
export async function writeImageFolder(
  dir: string,
  classes: string[],
  perClass: number,
  seedBase = 500,
): Promise<void> {
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  for (const [ci, c] of classes.entries()) {
    mkdirSync(join(dir, c), { recursive: true });
    const base = await scenePng(seedBase + ci * 13);
    for (let j = 0; j < perClass; j++) writeFileSync(join(dir, c, `${j}.jpg`), await variant(base, j));
  }
}
