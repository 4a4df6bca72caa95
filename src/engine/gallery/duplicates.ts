// Duplicate groups around keepers: the image to keep first, then the images alike to it, never a chain (a is like b,
// b is like c) that would put a and c together. Pure: the gallery feeds it neighbours from its index, the benchmark
// from all pairs of a made set.
import type { ImageRecord } from '../../core/domain/records.js';
import { cosineScore, dot } from '../../core/util/vectors.js';

/** Neighbours of each image looked at for its duplicates, unless told otherwise. */
export const DUPLICATE_NEIGHBOURS = 10;

export interface DuplicateMember extends ImageRecord {
  /** Cosine similarity to the image to keep (1 for itself). */
  score: number;
  /** The same pixels as the image to keep: the same vector at the same width and height (a copy with other
   *  metadata, or saved again losslessly). A resized copy is near, even when the model gives it the same vector. */
  exact: boolean;
}

export interface DuplicateGroup {
  /** exact: every member is an exact copy of the kept one; near: at least one differs. */
  kind: 'exact' | 'near';
  /** The suggested image to keep: the most pixels, then the most metadata, then the oldest. */
  keep: number;
  /** The kept image first, then the others by falling score. */
  members: DuplicateMember[];
  /** Cosine similarity of every member to every other, in the members' order: the scores against another keeper. */
  similarities: number[][];
}

/** How many of a record's fields are filled (a later metadata field counts without a change here). */
const metadataCount = (r: ImageRecord) =>
  Object.values(r).filter((v) => v !== null && v !== undefined && v !== '').length;

/** Records in the order in which they become keepers: the most pixels, then the most metadata, then the lowest id. */
export function inKeeperOrder(records: ImageRecord[]): ImageRecord[] {
  const filled = new Map(records.map((r) => [r.id, metadataCount(r)]));
  return [...records].sort(
    (a, b) => b.width * b.height - a.width * a.height || filled.get(b.id)! - filled.get(a.id)! || a.id - b.id,
  );
}

/**
 * Groups, each its keeper first: the ids are taken in keeper order; each one not yet grouped becomes a keeper and takes
 * those of its neighbours (`near`) not yet grouped that are alike to it (`alike`: at the threshold or above, to the
 * keeper itself). An id is in at most one group; a keeper that takes nobody is no group.
 */
export function groupAroundKeepers(
  order: number[],
  near: (id: number) => Iterable<number>,
  alike: (keeper: number, id: number) => boolean = () => true,
): number[][] {
  const grouped = new Set<number>();
  const groups: number[][] = [];
  for (const keeper of order) {
    if (grouped.has(keeper)) continue;
    grouped.add(keeper);
    const members = [...near(keeper)].filter((id) => !grouped.has(id) && alike(keeper, id));
    for (const id of members) grouped.add(id);
    if (members.length) groups.push([keeper, ...members]);
  }
  return groups;
}

const sameVector = (a: Float32Array, b: Float32Array) =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** A group's answer from its records, the keeper first, and their vectors. */
export function describeGroup(records: ImageRecord[], vectorOf: (id: number) => Float32Array): DuplicateGroup {
  const keeper = records[0]!;
  const kv = vectorOf(keeper.id);
  const members = records
    .map((r) => {
      const v = vectorOf(r.id);
      const exact = r.id === keeper.id || (r.width === keeper.width && r.height === keeper.height && sameVector(v, kv));
      return { ...r, score: r.id === keeper.id ? 1 : cosineScore(dot(kv, v)), exact };
    })
    .sort((a, b) => Number(b.id === keeper.id) - Number(a.id === keeper.id) || b.score - a.score || a.id - b.id);
  const vectors = members.map((m) => vectorOf(m.id));
  const similarities = vectors.map((a, i) => vectors.map((b, j) => (i === j ? 1 : cosineScore(dot(a, b)))));
  return { kind: members.every((m) => m.exact) ? 'exact' : 'near', keep: keeper.id, members, similarities };
}

/** Exact groups first, then the tightest (highest lowest score), then the larger. */
export function sortGroups(groups: DuplicateGroup[]): DuplicateGroup[] {
  const lowest = (g: DuplicateGroup) => Math.min(...g.members.map((m) => m.score));
  return groups.sort(
    (a, b) =>
      Number(b.kind === 'exact') - Number(a.kind === 'exact') ||
      lowest(b) - lowest(a) ||
      b.members.length - a.members.length ||
      a.keep - b.keep,
  );
}
