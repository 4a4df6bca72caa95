// A search's options and pages, as the routes, the use cases and the gallery speak of them.
import type { ImageFilter, ImageRecord } from './records.js';

export type SearchSort = 'score' | 'date';
/** Where the page before ended: the sort key (score, or date taken in ms) and id of its last result; the page after
 *  holds what comes after that key (never a position, which adds and removals between two pages would shift). */
export interface SearchCursor {
  sort: SearchSort;
  value: number;
  id: number;
}

export interface SearchOptions {
  k: number;
  minScore?: number;
  filter?: ImageFilter;
  excludeId?: number;
  /** score: best first. date: newest first among all that reach minScore (required then). */
  sort?: SearchSort;
  after?: SearchCursor;
}

export interface SearchResult extends ImageRecord {
  score: number;
}
export interface SearchPage {
  results: SearchResult[];
  next: SearchCursor | null;
}
