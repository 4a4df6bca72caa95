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

  /**
   * One transaction: every id is checked inside it (404 for an unknown one, 409 resolve_conflict for one in the trash,
   * as when an overlapping resolve came first), then the others go to the trash or take the label; all or nothing.
   */
  async resolve(r: Resolution): Promise<{ kept: number; deleted: number[]; relabelled: number[] }> {
    if (r.others.includes(r.keep)) throw new LookalikeError('invalid_request', `image ${r.keep} is both kept and among the others`);
    if (r.action === 'relabel' && r.label === undefined) throw new LookalikeError('invalid_request', 'relabel needs "label" (a class name, or null to clear it)');
    const others = [...new Set(r.others)];
    await this.gallery.keepOne(r.keep, others, r.action === 'relabel' ? { label: r.label ?? null } : { trash: true });
    return r.action === 'relabel' ? { kept: r.keep, deleted: [], relabelled: others } : { kept: r.keep, deleted: others, relabelled: [] };
  }
}
