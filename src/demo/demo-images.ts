// The demo gallery's pictures: six kinds of simple scenes drawn as SVG from a seed, eight of each, so the demo has
// labelled classes without downloading anything. (The demo encoder has random weights: it groups by colour and
// layout, not meaning.)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { seededRandom } from '../models/random-models.js';

type Draw = (r: () => number, w: number, h: number) => string;
const between = (r: () => number, a: number, b: number) => a + (b - a) * r();
const hsl = (h: number, s: number, l: number) => `hsl(${h.toFixed(0)},${s.toFixed(0)}%,${l.toFixed(0)}%)`;

export const DEMO_SCENES: Record<string, Draw> = {
  sunset: (r, w, h) => {
    const horizon = h * between(r, 0.6, 0.75);
    return `<defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${hsl(between(r, 260, 290), 60, 35)}"/><stop offset="1" stop-color="${hsl(between(r, 15, 35), 90, 60)}"/></linearGradient></defs>
      <rect width="${w}" height="${h}" fill="url(#g)"/><circle cx="${between(r, 0.2, 0.8) * w}" cy="${horizon}" r="${between(r, 0.08, 0.15) * w}" fill="${hsl(between(r, 40, 55), 100, 60)}"/>
      <rect y="${horizon}" width="${w}" height="${h - horizon}" fill="${hsl(between(r, 250, 280), 30, 12)}"/>`;
  },
  ocean: (r, w, h) => {
    let waves = '';
    for (let i = 0; i < 6; i++) {
      const y = between(r, 0.3, 0.95) * h, a = between(r, 5, 15);
      waves += `<path d="M0 ${y} Q ${w / 4} ${y - a} ${w / 2} ${y} T ${w} ${y}" stroke="white" stroke-width="${between(r, 2, 5)}" fill="none" opacity="0.8"/>`;
    }
    return `<rect width="${w}" height="${h}" fill="${hsl(between(r, 195, 215), 80, between(r, 35, 50))}"/><rect width="${w}" height="${h * 0.25}" fill="${hsl(between(r, 195, 210), 70, 80)}"/>${waves}`;
  },
  forest: (r, w, h) => {
    let trees = '';
    for (let i = 0; i < 9; i++) {
      const x = between(r, 0, w), base = between(r, 0.7, 1) * h, tw = between(r, 30, 60), th = between(r, 80, 150);
      trees += `<rect x="${x - 4}" y="${base - 20}" width="8" height="20" fill="${hsl(25, 50, 25)}"/><polygon points="${x - tw / 2},${base - 20} ${x + tw / 2},${base - 20} ${x},${base - 20 - th}" fill="${hsl(between(r, 100, 140), 60, between(r, 18, 30))}"/>`;
    }
    return `<rect width="${w}" height="${h}" fill="${hsl(between(r, 90, 120), 40, between(r, 60, 75))}"/>${trees}`;
  },
  night: (r, w, h) => {
    let stars = '';
    for (let i = 0; i < 60; i++) stars += `<circle cx="${between(r, 0, w)}" cy="${between(r, 0, h)}" r="${between(r, 0.5, 2)}" fill="white"/>`;
    const mx = between(r, 0.2, 0.8) * w, my = between(r, 0.15, 0.4) * h, mr = between(r, 18, 30);
    return `<rect width="${w}" height="${h}" fill="${hsl(between(r, 225, 245), 60, between(r, 6, 12))}"/>${stars}<circle cx="${mx}" cy="${my}" r="${mr}" fill="#f4f1c9"/><circle cx="${mx + mr * 0.45}" cy="${my - mr * 0.2}" r="${mr}" fill="${hsl(235, 60, 9)}"/>`;
  },
  desert: (r, w, h) => {
    let dunes = '';
    for (let i = 0; i < 4; i++) dunes += `<ellipse cx="${between(r, 0, w)}" cy="${between(r, 0.7, 1.1) * h}" rx="${between(r, 0.3, 0.6) * w}" ry="${between(r, 0.15, 0.3) * h}" fill="${hsl(between(r, 32, 42), 60, between(r, 55, 72))}"/>`;
    return `<rect width="${w}" height="${h}" fill="${hsl(between(r, 195, 205), 70, between(r, 75, 85))}"/><circle cx="${between(r, 0.1, 0.9) * w}" cy="${h * 0.15}" r="16" fill="#fff6c0"/>${dunes}`;
  },
  flowers: (r, w, h) => {
    let flowers = '';
    for (let i = 0; i < 10; i++) {
      const x = between(r, 0, w), y = between(r, 0.35, 0.95) * h, s = between(r, 8, 18), hue = between(r, 0, 360);
      for (let p = 0; p < 5; p++) {
        const a = (p / 5) * Math.PI * 2;
        flowers += `<circle cx="${x + Math.cos(a) * s}" cy="${y + Math.sin(a) * s}" r="${s * 0.7}" fill="${hsl(hue, 80, 65)}"/>`;
      }
      flowers += `<circle cx="${x}" cy="${y}" r="${s * 0.5}" fill="${hsl(50, 90, 50)}"/>`;
    }
    return `<rect width="${w}" height="${h}" fill="${hsl(between(r, 95, 125), 55, between(r, 35, 45))}"/><rect width="${w}" height="${h * 0.3}" fill="${hsl(200, 60, 85)}"/>${flowers}`;
  },
};

export function demoSceneSvg(kind: string, seed: number, width = 320, height = 240): string {
  const draw = DEMO_SCENES[kind];
  if (!draw) throw new Error(`unknown demo scene ${kind}`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${draw(seededRandom(seed * 104729 + kind.length), width, height)}</svg>`;
}

/** Writes <dir>/<kind>/<kind>-<n>.jpg for every scene kind; returns the number of files. */
export async function writeDemoImages(dir: string, perKind = 8): Promise<number> {
  let n = 0;
  for (const kind of Object.keys(DEMO_SCENES)) {
    mkdirSync(join(dir, kind), { recursive: true });
    for (let i = 0; i < perKind; i++) {
      const jpg = await sharp(Buffer.from(demoSceneSvg(kind, i + 1))).jpeg({ quality: 88 }).toBuffer();
      writeFileSync(join(dir, kind, `${kind}-${i + 1}.jpg`), jpg);
      n++;
    }
  }
  return n;
}
