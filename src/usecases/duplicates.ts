// Duplicate groups and their review: find them (exact and near, merged transitively), then keep one image of a group
// and delete or relabel the others in one request.
import { LookalikeError } from '../errors.js';
import type { DuplicateGroup } from '../gallery/duplicates.js';
import type { Gallery } from '../gallery/gallery.js';

export interface Resolution {
  keep: number;
  others: number[];
  /** delete: the others leave the gallery; relabel: they take `label` (null clears it) and stay. */
  action: 'delete' | 'relabel';
  label?: string | null;
}

export class Duplicates {
  constructor(private readonly gallery: Gallery, readonly defaultThreshold: number, private readonly neighbours = 10) {}

  async find(threshold = this.defaultThreshold): Promise<{ threshold: number; groups: DuplicateGroup[] }> {
    return { threshold, groups: await this.gallery.duplicates(threshold, this.neighbours) };
  }

  /** Every id is checked (404 for an unknown one) before anything changes. */
  async resolve(r: Resolution): Promise<{ kept: number; deleted: number[]; relabelled: number[] }> {
    if (r.others.includes(r.keep)) throw new LookalikeError('invalid_request', `image ${r.keep} is both kept and among the others`);
    if (r.action === 'relabel' && r.label === undefined) throw new LookalikeError('invalid_request', 'relabel needs "label" (a class name, or null to clear it)');
    for (const id of [r.keep, ...r.others]) this.gallery.get(id);
    const others = [...new Set(r.others)];
    if (r.action === 'relabel') {
      for (const id of others) this.gallery.relabel(id, r.label ?? null);
      return { kept: r.keep, deleted: [], relabelled: others };
    }
    for (const id of others) await this.gallery.remove(id);
    return { kept: r.keep, deleted: others, relabelled: [] };
  }
}
