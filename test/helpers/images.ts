// Deterministic test images: random scenes of shapes drawn as SVG and rendered by sharp, from a seed.
import sharp from 'sharp';
import { seededRandom } from '../../src/models/random-models.js';

export function sceneSvg(seed: number, width = 320, height = 240): string {
  const rand = seededRandom(seed * 7919 + 17);
  const color = () => `rgb(${Math.floor(rand() * 256)},${Math.floor(rand() * 256)},${Math.floor(rand() * 256)})`;
  const shapes: string[] = [`<rect width="100%" height="100%" fill="${color()}"/>`];
  for (let i = 0; i < 12; i++) {
    const x = rand() * width, y = rand() * height, s = 10 + rand() * width * 0.4;
    shapes.push(rand() < 0.5
      ? `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${(s / 2).toFixed(1)}" fill="${color()}"/>`
      : `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${s.toFixed(1)}" height="${(s * (0.3 + rand())).toFixed(1)}" fill="${color()}" transform="rotate(${Math.floor(rand() * 90)} ${x.toFixed(1)} ${y.toFixed(1)})"/>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${shapes.join('')}</svg>`;
}

export function scenePng(seed: number, width = 320, height = 240): Promise<Buffer> {
  return sharp(Buffer.from(sceneSvg(seed, width, height))).png().toBuffer();
}

/** A resized, re-compressed copy: what a near-duplicate looks like in a real gallery. */
export async function recompressedCopy(png: Buffer, scale = 0.75, quality = 70): Promise<Buffer> {
  const meta = await sharp(png).metadata();
  return sharp(png).resize(Math.round(meta.width! * scale)).jpeg({ quality }).toBuffer();
}
