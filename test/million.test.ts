// Issue 19 at small n, with real FAISS and SQLite: the compressed kind (ivf-pq) and its exact re-scoring, F16
// vectors in SQLite beside folders of the old F32 format, and the sync at open from the database's change log.
import Database from 'better-sqlite3';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type * as FaissNode from 'faiss-node';
import { afterEach, describe, expect, it } from 'vitest';
import { dot } from '../src/core/util/vectors.js';
import type { Gallery } from '../src/engine/gallery/gallery.js';
import type { IndexKind } from '../src/engine/index/kinds.js';
import { MIGRATIONS } from '../src/engine/store/migrations.js';
import { Store } from '../src/engine/store/store.js';
import { decodeHalf, encodeHalf } from '../src/core/util/vector-format.js';
import { runScript } from './helpers/cli.js';
import { clusteredVectors, fakeImage, identity } from './helpers/vectors.js';
import { TestGalleries } from './helpers/galleries.js';

const params = { hnswM: 16, efSearch: 64, nprobe: 8, exactCandidates: 100 };
const galleries = new TestGalleries('million', { indexParams: params });
afterEach(() => galleries.cleanUp());
const tempDir = () => galleries.tempDir();
const openGallery = (dataDir: string, kind: IndexKind, dim: number) =>
  galleries.open(dataDir, { indexKind: kind, identity: identity(dim) });
const closeGallery = (g: Gallery) => galleries.close(g);
async function fill(g: Gallery, vectors: Float32Array[]): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < vectors.length; i++)
    ids.push((await g.add(fakeImage(i), vectors[i]!, { source: null, label: null })).id);
  return ids;
}
const asStored = (v: Float32Array) => decodeHalf(encodeHalf(v));

describe('ivf-pq: compact codes, exact scores', () => {
  const DIM = 128,
    N = 3000,
    NQ = 40;
  const all = clusteredVectors(N + NQ, DIM, 30, 5, 0.6);
  const base = all.slice(0, N),
    queries = all.slice(N);

  it('returns exact cosines of the stored vectors, and recall@10 against flat above 0.95', async () => {
    const pq = await openGallery(tempDir(), 'ivf-pq', DIM);
    const flat = await openGallery(tempDir(), 'flat', DIM);
    await fill(pq, base);
    await fill(flat, base);
    const stats = await pq.indexStats();
    // 8 code bytes for 128 dims
    expect(stats).toMatchObject({ kind: 'ivf-pq', staged: 0, live: N, bytesPerVector: 8 + 8 });
    await pq.save();
    const used = await pq.indexStats(); // measured: the file adds the lists' centroids and the codebooks to the codes
    expect(used.fileBytesPerVector).toBeGreaterThanOrEqual(16);
    expect(used.fileBytesPerVector).toBeLessThan(64);
    expect(used.databaseBytesPerVector).toBeGreaterThan(2 * DIM); // F16 vectors and their rows
    let recall = 0;
    for (const q of queries) {
      const got = await pq.search(q, { k: 10 });
      const truth = await flat.search(q, { k: 10 });
      recall += got.filter((h) => truth.some((t) => t.id === h.id)).length / 10 / NQ;
      // ids follow insertion here
      for (const h of got) expect(h.score).toBeCloseTo(dot(q, asStored(base[h.id - 1]!)), 6);
      expect(got.map((h) => h.score)).toEqual([...got.map((h) => h.score)].sort((a, b) => b - a));
    }
    expect(recall).toBeGreaterThan(0.95);
    // minScore means the same as on flat: a hit's score is the one flat gives it (flat scores the F32 vector it was
    // given)
    const strict = await pq.search(queries[0]!, { k: 50, minScore: 0.5 });
    const flatScores = new Map((await flat.search(queries[0]!, { k: N })).map((h) => [h.id, h.score]));
    expect(strict.length).toBeGreaterThan(10);
    for (const h of strict) expect(h.score).toBeCloseTo(flatScores.get(h.id)!, 3);
  });

  it('survives a crash between the index file and its manifest, and catches up exactly', async () => {
    const dir = tempDir();
    const n = 1100,
      dim = 64;
    // in a child process: n images and a save (the index trained); then one more and one deleted, and a save killed
    // (SIGKILL) after the new index file is written and before the manifest that vouches for it
    const r = await runScript('test/helpers/crash-save.ts', [dir], {
      LOOKALIKE_TEST_DIM: String(dim),
      LOOKALIKE_TEST_KIND: 'ivf-pq',
      LOOKALIKE_TEST_N: String(n),
    });
    expect(r.signal ?? r.code).toBe('SIGKILL');
    expect(readdirSync(join(dir, 'index')).filter((f) => f.endsWith('.faiss'))).toHaveLength(2);
    const vectors = clusteredVectors(n + 1, dim, 30, 17);
    const g = await openGallery(dir, 'ivf-pq', dim);
    // the old pair, caught up from the log
    expect(g.syncReport).toMatchObject({ action: 'synced', added: 1, removed: 1 });
    expect((await g.indexStats()).live).toBe(n);
    for (const i of [0, 4, 500, n]) {
      const [top] = await g.search(vectors[i]!, { k: 1 });
      expect(top!.sha256, `image ${i}`).toBe(fakeImage(i).sha256);
      expect(top!.score).toBeCloseTo(dot(vectors[i]!, asStored(vectors[i]!)), 6);
    }
    expect((await g.search(vectors[3]!, { k: 100 })).map((h) => h.sha256)).not.toContain(fakeImage(3).sha256);
  });
});

describe("ivf-pq's 4-bit scan (patches/faiss-node/ivfpq4_search.cc)", () => {
  const faiss = createRequire(import.meta.url)('faiss-node') as typeof FaissNode;
  afterEach(() => faiss.Index.setPq4Scan(true));

  // 16 sub-quantizers: one 64-bit load each; 21: one and an odd tail of 5; 8 of 16 lists probed
  it.each([
    [128, 'PQ16x4np'],
    [168, 'PQ21x4np'],
  ])('answers as faiss does, %i dims with %s', (dim, pq) => {
    const vectors = clusteredVectors(2000 + 20, dim, 20, 7, 0.6);
    const flat = (vs: Float32Array[]) => {
      const x = new Float32Array(vs.length * dim);
      vs.forEach((v, i) => x.set(v, i * dim));
      return x;
    };
    const index = faiss.Index.fromFactory(dim, `IVF16,${pq}`, 0);
    index.train(flat(vectors.slice(0, 2000)));
    index.add(flat(vectors.slice(0, 2000)));
    index.setParameter('nprobe', 8);
    const queries = flat(vectors.slice(2000));
    for (const k of [1, 10, 1000]) {
      faiss.Index.setPq4Scan(true);
      const ours = index.search(queries, k);
      faiss.Index.setPq4Scan(false);
      const theirs = index.search(queries, k);
      // the same hits with the same scores up to float rounding (near ties may swap places)
      for (let q = 0; q < 20; q++) {
        const hits = (r: typeof ours) =>
          new Map([...r.labels.subarray(q * k, (q + 1) * k)].map((l, j) => [l, r.distances[q * k + j]!]));
        const a = hits(ours),
          b = hits(theirs);
        expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
        for (const [label, score] of a) if (label >= 0) expect(score).toBeCloseTo(b.get(label)!, 5);
      }
      if (k === 1000) expect(ours.labels).toContain(-1); // 8 of 16 lists hold fewer than 1000: padded as faiss pads
    }
  });
});

describe('an index that cannot grow in memory', () => {
  // The real allocation: a flat index's array doubles as it grows (at 1M x 4096 its first add after a load asks for
  // 32 GB); here a child's address space is capped a little above its size (prlimit) once it says its size.
  function underCap(dir: string, headroomMiB: number): Promise<Record<string, unknown>> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/oom-child.ts', dir], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d;
      const ready = /^ready (\d+)\n/.exec(out);
      if (ready && out.length === ready[0].length) {
        execFileSync('prlimit', [`--pid=${child.pid}`, `--as=${Number(ready[1]) + headroomMiB * 2 ** 20}`]);
        child.stdin.write('go\n');
      }
    });
    return new Promise((resolve, reject) =>
      child.on('close', (code) =>
        code === 0
          ? resolve(JSON.parse(out.split('\n').pop()!) as Record<string, unknown>)
          : reject(new Error(`the child exited with ${code}`)),
      ),
    );
  }

  it('refuses the add with 507 index_out_of_memory, stores nothing of it, and goes on answering', async () => {
    const dir = tempDir();
    const result = (await underCap(dir, 300)) as {
      added: number;
      error: { code: string; statusCode: number; message: string; kind: string };
      live: number;
      inDatabase: number;
      hits: number;
    };
    // faiss's failed allocation is a coded error from the index up, never a string the gallery compares
    expect(result.error).toMatchObject({ code: 'index_out_of_memory', statusCode: 507, kind: 'IndexOutOfMemoryError' });
    expect(result.error.message).toMatch(/cannot grow in this machine's memory.*the image was not stored/);
    expect(result.added).toBeGreaterThan(1000);
    expect(result).toMatchObject({ live: result.added, inDatabase: result.added, hits: 3 });
    // the child saved no index: a fresh open rebuilds it from SQLite, which holds exactly the acknowledged adds
    const g = await openGallery(dir, 'flat', 4096);
    expect((await g.indexStats()).live).toBe(result.added);
  }, 120_000);
});

describe('stored vectors and the sync at open', () => {
  it('decodes every F16 value alike from an aligned and an unaligned buffer, and encodes it back to itself', () => {
    const halves = Uint16Array.from({ length: 65536 }, (_, h) => h);
    const bytes = new Uint8Array(halves.buffer);
    const unaligned = new Uint8Array(bytes.length + 1).subarray(1);
    unaligned.set(bytes);
    const a = decodeHalf(bytes),
      b = decodeHalf(unaligned);
    expect(a[0x3c00]).toBe(1);
    expect(a[0xc000]).toBe(-2);
    expect(a[0x0001]).toBe(2 ** -24); // the smallest subnormal
    expect(a[0x7bff]).toBe(65504); // the largest finite
    for (let h = 0; h < 65536; h++) {
      if (Number.isNaN(a[h])) {
        expect(Number.isNaN(b[h])).toBe(true);
        continue;
      }
      expect(b[h]).toBe(a[h]);
      expect(encodeHalf(a.subarray(h, h + 1)).readUInt16LE(0)).toBe(h);
    }
  });

  const DIM = 32;

  it(
    'stores F16 vectors, and opens a folder of the old format (F32, no change log, an index without a seq) ' +
      'answering the same',
    async () => {
      const dir = tempDir();
      const vectors = clusteredVectors(50, DIM, 5, 9);
      // the old format, written as the code before F16 wrote it: schema 1, F32 blobs
      const db = new Database(join(dir, 'lookalike.db'));
      db.exec(MIGRATIONS[0]!);
      db.pragma('user_version = 1');
      const id = identity(DIM);
      db.prepare(`INSERT INTO models (model_id, fingerprint, file_name, projector_type, dim, pooling, min_tokens, max_tokens, created_at, active)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`).run(
        id.modelId,
        id.fingerprint,
        id.fileName,
        id.projectorType,
        id.dim,
        id.pooling,
        id.minTokens,
        id.maxTokens,
        new Date().toISOString(),
      );
      vectors.forEach((v, i) => {
        const img = fakeImage(i);
        db.prepare(
          `INSERT INTO images (sha256, source, label, width, height, bytes, added_at, thumbnail) VALUES (?, NULL, ` +
            `NULL, ?, ?, ?, ?, ?)`,
        ).run(img.sha256, img.width, img.height, img.bytes, new Date().toISOString(), img.thumbnail);
        db.prepare('INSERT INTO embeddings (image_id, model_id, vector) VALUES (?, 1, ?)').run(
          i + 1,
          Buffer.from(v.buffer, v.byteOffset, v.byteLength),
        );
      });
      db.close();
      const exactTop = (q: Float32Array) =>
        vectors
          .map((v, i) => ({ id: i + 1, score: dot(q, v) }))
          .sort((a, b) => b.score - a.score)
          .slice(0, 10);

      let g = await openGallery(dir, 'flat', DIM);
      expect(g.syncReport!.action).toBe('rebuilt');
      for (const q of [vectors[0]!, vectors[17]!]) {
        const got = await g.search(q, { k: 10 });
        const want = exactTop(q);
        expect(got.map((h) => h.id)).toEqual(want.map((h) => h.id));
        got.forEach((h, i) => expect(h.score).toBeCloseTo(want[i]!.score, 6)); // the F32 rows are read as F32
      }
      // a new image is stored as F16, beside the old rows
      const fresh = clusteredVectors(1, DIM, 1, 77)[0]!;
      const added = await g.add(fakeImage(99), fresh, { source: null, label: null });
      await closeGallery(g);
      const check = new Database(join(dir, 'lookalike.db'), { readonly: true });
      expect(check.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      expect(
        (check.prepare('SELECT vector FROM embeddings WHERE image_id = ?').pluck().get(added.id) as Buffer).byteLength,
      ).toBe(2 * DIM);
      expect(
        (check.prepare('SELECT vector FROM embeddings WHERE image_id = 1').pluck().get() as Buffer).byteLength,
      ).toBe(4 * DIM);
      check.close();

      // an index manifest from before the change log (no syncedSeq): every id is compared once, then the seq is saved
      const manifestPath = join(dir, 'index', 'flat.json');
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { syncedSeq?: number };
      const seq = manifest.syncedSeq;
      expect(seq).toBe(1); // the log starts with the migration: the one add since
      delete manifest.syncedSeq;
      writeFileSync(manifestPath, JSON.stringify(manifest));
      g = await openGallery(dir, 'flat', DIM);
      expect(g.syncReport!.action).toBe('loaded');
      expect((JSON.parse(readFileSync(manifestPath, 'utf8')) as { syncedSeq?: number }).syncedSeq).toBe(seq);
      expect((await g.search(fresh, { k: 1 }))[0]!.id).toBe(added.id);
      expect((await g.search(vectors[17]!, { k: 10 })).map((h) => h.id)).toEqual(
        exactTop(vectors[17]!).map((h) => h.id),
      );
    },
  );

  it('passes over an image added and deleted after the save (in the log, never in the index): nothing to sync, no save', async () => {
    const dir = tempDir();
    let g = await openGallery(dir, 'flat', DIM);
    await fill(g, clusteredVectors(20, DIM, 2, 3));
    await closeGallery(g);
    const manifest = () => readFileSync(join(dir, 'index', 'flat.json'), 'utf8');
    const saved = manifest();
    const store = new Store(join(dir, 'lookalike.db'));
    store.useModel(identity(DIM));
    const { id } = store.addImage({ ...fakeImage(50), source: null, label: null }, clusteredVectors(1, DIM, 1, 8)[0]!);
    expect(store.delete(id)).toBe(true);
    store.close();
    g = await openGallery(dir, 'flat', DIM);
    expect(g.syncReport).toMatchObject({ action: 'loaded', added: 0, removed: 0 });
    expect(manifest()).toBe(saved); // a 16 GB flat file at 1M is not written again for nothing
  });

  it('takes at open a vector replaced after the index was saved (only the change log shows it: the ids are the same)', async () => {
    const dir = tempDir();
    let g = await openGallery(dir, 'flat', DIM);
    const vectors = clusteredVectors(20, DIM, 2, 3);
    const ids = await fill(g, vectors);
    await closeGallery(g);
    const replacement = clusteredVectors(1, DIM, 1, 99)[0]!; // far from the rest
    const store = new Store(join(dir, 'lookalike.db'));
    store.useModel(identity(DIM));
    expect(store.addImage({ ...fakeImage(5), source: null, label: null }, replacement)).toMatchObject({
      id: ids[5],
      vectorChanged: true,
    });
    store.close();
    g = await openGallery(dir, 'flat', DIM);
    expect(g.syncReport).toMatchObject({ action: 'synced', added: 1, removed: 0 });
    const [top] = await g.search(replacement, { k: 1 });
    expect(top!.id).toBe(ids[5]);
    expect(top!.score).toBeGreaterThan(0.999);
    expect((await g.indexStats()).live).toBe(20);
  });
});
