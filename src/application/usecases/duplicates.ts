// Duplicate groups and their review: find them (exact and near, around keepers), then keep one image of a group
// and delete or relabel the others in one request.
import { BusyError, LookalikeError } from '../../core/errors.js';
import { DUPLICATE_NEIGHBOURS, type DuplicateGroup } from '../../engine/gallery/duplicates.js';
import type { Gallery } from '../../engine/gallery/gallery.js';

export interface Resolution {
  keep: number;
  others: number[];
  /** delete: the others leave the gallery; relabel: they take `label` (null clears it) and stay. */
  action: 'delete' | 'relabel';
  label?: string | null;
}

interface Found {
  threshold: number;
  groups: DuplicateGroup[];
}

export class Duplicates {
  /** The scan under way: a scan reads every vector and searches the index with each, so one runs at a time. */
  private running: { threshold: number; started: number; result: Promise<Found> } | null = null;
  private lastScanMs = 1000;

  constructor(
    private readonly gallery: Gallery,
    readonly defaultThreshold: number,
    private readonly neighbours = DUPLICATE_NEIGHBOURS,
  ) {}

  /** A caller who asks for the threshold of the scan under way shares its result; another threshold is busy (503). */
  find(threshold = this.defaultThreshold): Promise<Found> {
    if (this.running?.threshold === threshold) return this.running.result;
    if (this.running) {
      const left = Math.max(this.lastScanMs - (performance.now() - this.running.started), 1000);
      throw new BusyError(
        `a duplicates scan at threshold ${this.running.threshold} is under way; ask again when it ends, ` +
          'or at that threshold to share its result',
        Math.ceil(left / 1000),
      );
    }
    const started = performance.now();
    const result = this.gallery
      .duplicates(threshold, this.neighbours)
      .then((groups) => ({ threshold, groups }))
      .finally(() => {
        this.running = null;
        this.lastScanMs = performance.now() - started;
      });
    this.running = { threshold, started, result };
    return result;
  }

  /**
   * One transaction: every id is checked inside it (404 for an unknown one, 409 resolve_conflict for one in the trash,
   * as when an overlapping resolve came first), then the others go to the trash or take the label; all or nothing.
   */
  async resolve(r: Resolution): Promise<{ kept: number; deleted: number[]; relabelled: number[] }> {
    if (r.others.includes(r.keep))
      throw new LookalikeError('invalid_request', `image ${r.keep} is both kept and among the others`);
    if (r.action === 'relabel' && r.label === undefined)
      throw new LookalikeError('invalid_request', 'relabel needs "label" (a class name, or null to clear it)');
    const others = [...new Set(r.others)];
    await this.gallery.keepOne(r.keep, others, r.action === 'relabel' ? { label: r.label ?? null } : { trash: true });
    return r.action === 'relabel'
      ? { kept: r.keep, deleted: [], relabelled: others }
      : { kept: r.keep, deleted: others, relabelled: [] };
  }
}
