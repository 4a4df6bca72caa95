// bench/rescore-source: where ivf-pq should read the full vectors of its candidates from. Reads 100 random vectors
// (4096-d F16) per trial from SQLite (the index worker's query: one statement, ids through json_each) and from a flat
// file of F16 rows (one pread each, as a memory-mapped or plain vector file beside the index would), both warm in
// the page cache, and decodes them; then their cosines, decoded first or read in place (storedDot). Prints ms per
// 100 candidates.   npx tsx bench/rescore-source.ts [n=50000]
import Database from 'better-sqlite3';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from '../test/helpers/random-text-model.js';
import { blobToVector, encodeHalf, storedDot } from '../src/core/util/vector-format.js';
import { dot } from '../src/core/util/vectors.js';
import { percentile } from './common.js';

const DIM = 4096,
  R = 100,
  TRIALS = 300;
const n = Number(process.argv[2] ?? 50_000);
const dir = mkdtempSync(join(tmpdir(), 'lookalike-rescore-'));
try {
  const rand = seededRandom(3);
  const db = new Database(join(dir, 'v.db'));
  db.pragma('journal_mode = WAL');
  db.exec(
    'CREATE TABLE embeddings (image_id INTEGER NOT NULL, model_id INTEGER NOT NULL, vector BLOB NOT NULL, PRIMARY ' +
      'KEY (image_id, model_id))',
  );
  const fd = openSync(join(dir, 'v.f16'), 'w+');
  const insert = db.prepare('INSERT INTO embeddings VALUES (?, 1, ?)');
  const v = new Float32Array(DIM);
  db.transaction(() => {
    for (let i = 1; i <= n; i++) {
      for (let j = 0; j < DIM; j++) v[j] = rand() - 0.5;
      const blob = encodeHalf(v);
      insert.run(i, blob);
      writeSync(fd, blob, 0, blob.length, (i - 1) * 2 * DIM);
    }
  })();
  const read = db.prepare(
    'SELECT image_id AS id, vector FROM embeddings WHERE model_id = 1 AND image_id IN (SELECT value FROM json_each(?))',
  );
  const row = Buffer.alloc(2 * DIM);
  const sqlite: number[] = [],
    file: number[] = [];
  for (let t = 0; t < TRIALS; t++) {
    const ids = Array.from({ length: R }, () => 1 + Math.floor(rand() * n));
    let s = performance.now();
    for (const r of read.all(JSON.stringify(ids)) as { vector: Buffer }[]) blobToVector(r.vector, DIM);
    sqlite.push(performance.now() - s);
    s = performance.now();
    for (const id of ids) {
      readSync(fd, row, 0, row.length, (id - 1) * 2 * DIM);
      blobToVector(row, DIM);
    }
    file.push(performance.now() - s);
  }
  // the cosines of 100 candidates once read: decoded into arrays then dot, or multiplied in place (what the index does)
  const blobs = (read.all(JSON.stringify(Array.from({ length: R }, (_, i) => i + 1))) as { vector: Buffer }[]).map(
    (r) => r.vector,
  );
  const query = Float32Array.from({ length: DIM }, () => rand() - 0.5);
  const decoded: number[] = [],
    inPlace: number[] = [];
  for (let t = 0; t < TRIALS; t++) {
    let s = performance.now();
    for (const b of blobs) dot(blobToVector(b, DIM), query);
    decoded.push(performance.now() - s);
    s = performance.now();
    for (const b of blobs) storedDot(b, query);
    inPlace.push(performance.now() - s);
  }
  closeSync(fd);
  db.close();
  const f = (x: number[]) => `p50 ${percentile(x, 50).toFixed(2)} ms, p99 ${percentile(x, 99).toFixed(2)} ms`;
  console.log(`${R} candidates of ${n} (4096-d F16, warm): SQLite ${f(sqlite)}; F16 file ${f(file)}`);
  console.log(`their cosines: decoded then dot ${f(decoded)}; in place (storedDot) ${f(inPlace)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
