// Duplicate groups: pairs of images closer than a threshold, merged transitively (union-find), each group with the
// image to keep. Pure: the gallery feeds it pairs from its index, the benchmark from all pairs of a made set.
import type { ImageRecord } from '../store/store.js';
import { dot } from '../util/vectors.js';

export class UnionFind {
  private readonly parent = new Map<number, number>();

  find(x: number): number {
    let root = x;
    while (this.parent.has(root) && this.parent.get(root) !== root) root = this.parent.get(root)!;
    // path compression: later finds are one step
    for (let y = x; y !== root;) { const next = this.parent.get(y)!; this.parent.set(y, root); y = next; }
    return root;
  }

  union(a: number, b: number): void {
    const [ra, rb] = [this.find(a), this.find(b)];
    if (!this.parent.has(ra)) this.parent.set(ra, ra);
    if (ra !== rb) this.parent.set(rb, ra);
  }

  /** The sets of two or more members, each in ascending order. */
  groups(): number[][] {
    const by = new Map<number, number[]>();
    for (const x of this.parent.keys()) {
      const r = this.find(x);
      by.set(r, [...(by.get(r) ?? []), x]);
    }
    return [...by.values()].filter((g) => g.length > 1).map((g) => g.sort((a, b) => a - b));
  }
}

export interface DuplicateMember extends ImageRecord {
  /** Cosine similarity to the image to keep (1 for itself). */
  score: number;
  /** The encoder saw the same pixels as in the image to keep (identical vectors): a copy with other metadata or re-saved losslessly. */
  exact: boolean;
}

export interface DuplicateGroup {
  /** exact: every member is an exact copy of the kept one; near: at least one differs. */
  kind: 'exact' | 'near';
  /** The suggested image to keep: the most pixels, then the most metadata, then the oldest. */
  keep: number;
  /** The kept image first, then the others by falling score. */
  members: DuplicateMember[];
}

/** How many of a record's fields are filled (a later metadata field counts without a change here). */
const metadataCount = (r: ImageRecord) => Object.values(r).filter((v) => v !== null && v !== undefined && v !== '').length;

/** The image to keep among a group's records: the most pixels, then the most metadata, then the lowest id. */
export function chooseKeeper(records: ImageRecord[]): ImageRecord {
  return [...records].sort((a, b) => b.width * b.height - a.width * a.height || metadataCount(b) - metadataCount(a) || a.id - b.id)[0]!;
}

/** A group's answer from its records and their vectors. */
export function describeGroup(records: ImageRecord[], vectorOf: (id: number) => Float32Array): DuplicateGroup {
  const keeper = chooseKeeper(records);
  const kv = vectorOf(keeper.id);
  const members = records.map((r) => {
    const v = vectorOf(r.id);
    const exact = r.id === keeper.id || Buffer.from(v.buffer, v.byteOffset, v.byteLength).equals(Buffer.from(kv.buffer, kv.byteOffset, kv.byteLength));
    return { ...r, score: r.id === keeper.id ? 1 : dot(kv, v), exact };
  }).sort((a, b) => Number(b.id === keeper.id) - Number(a.id === keeper.id) || b.score - a.score || a.id - b.id);
  return { kind: members.every((m) => m.exact) ? 'exact' : 'near', keep: keeper.id, members };
}

/** Exact groups first, then the tightest (highest lowest score), then the larger. */
export function sortGroups(groups: DuplicateGroup[]): DuplicateGroup[] {
  const lowest = (g: DuplicateGroup) => Math.min(...g.members.map((m) => m.score));
  return groups.sort((a, b) => Number(b.kind === 'exact') - Number(a.kind === 'exact') || lowest(b) - lowest(a) || b.members.length - a.members.length || a.keep - b.keep);
}
