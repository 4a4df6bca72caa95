// npm run backup and restore with real processes: a server (real socket) takes a stream of adds and deletes, a backup
// runs beside it, the backup is restored into a new folder, and a server on that folder has exactly the gallery of one
// moment of the stream: every change answered before the backup started, none sent after its snapshot, nothing half.
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { multipart } from './helpers/app.js';
import { runScript, startScript, watchOutput } from './helpers/cli.js';
import { scenePng } from './helpers/images.js';
import { MODELS_DIR, TINY_MMPROJ } from './helpers/models.js';

/** A start, a backup or a restore that prints nothing new for this long is stuck (a backstop, not a budget). */
const STALL_MS = 120_000;

const root = mkdtempSync(join(tmpdir(), 'lookalike-backup-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const baseEnv = (dataDir: string) => ({
  LOOKALIKE_MMPROJ: TINY_MMPROJ,
  LOOKALIKE_MODELS_DIR: MODELS_DIR,
  LOOKALIKE_THREADS: '1',
  LOOKALIKE_LOG_LEVEL: 'info',
  LOOKALIKE_DATA_DIR: dataDir,
  PORT: '0',
});

interface Server {
  base: string;
  child: ChildProcess;
  output: ReturnType<typeof watchOutput>;
  stop(): Promise<void>;
}

async function startServer(dataDir: string): Promise<Server> {
  const child = startScript('src/web/server.ts', [], baseEnv(dataDir));
  const output = watchOutput(child);
  const closed = new Promise((resolve) => child.on('close', resolve));
  const base = (await output.waitFor(/lookalike on (http:\/\/[\d.:]+)\//, STALL_MS))[1]!;
  await output.waitFor(/gallery ready/, STALL_MS);
  return {
    base,
    child,
    output,
    stop: async () => {
      child.kill('SIGTERM');
      await closed;
    },
  };
}

async function add(base: string, data: Buffer): Promise<number> {
  const body = multipart({ image: { filename: 'x.png', data, contentType: 'image/png' } });
  const res = await fetch(`${base}/api/images`, {
    method: 'POST',
    body: new Uint8Array(body.payload),
    headers: body.headers,
  });
  if (res.status !== 201) throw new Error(`add answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { id: number }).id;
}

const thumbnail = async (base: string, id: number) =>
  Buffer.from(await (await fetch(`${base}/api/images/${id}/thumbnail`)).arrayBuffer());
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function allIds(base: string): Promise<number[]> {
  const ids: number[] = [];
  let cursor: string | null = null;
  do {
    const after = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
    const res = await fetch(`${base}/api/images?sort=added&limit=100${after}`);
    const page = (await res.json()) as { images: { id: number }[]; next: string | null };
    ids.push(...page.images.map((i) => i.id));
    cursor = page.next;
  } while (cursor);
  return ids.sort((a, b) => a - b);
}

interface Op {
  kind: 'add' | 'delete';
  id: number;
  sentAt: number;
  ackAt: number;
}

describe('backup and restore', () => {
  it('a backup under a stream of adds and deletes restores one moment of it: counts, contents, index', async () => {
    const dataDir = join(root, 'data');
    const images = new Map<number, { sha256: string; thumbnail: Buffer; png: Buffer }>();
    let seed = 1;
    // a gallery whose index is saved (at the server's close), so that the backup's index is older than its database
    let server = await startServer(dataDir);
    const seeded: number[] = [];
    for (let i = 0; i < 12; i++) {
      const png = await scenePng(seed++);
      const id = await add(server.base, png);
      seeded.push(id);
      images.set(id, { sha256: sha(png), thumbnail: await thumbnail(server.base, id), png });
    }
    await server.stop();
    server = await startServer(dataDir);

    // one client, one change at a time: the gallery after k changes is well defined, and differs for every k
    const ops: Op[] = [];
    const present = [...seeded];
    let stopStream = false;
    const stream = (async () => {
      while (!stopStream) {
        const sentAt = performance.now();
        if (ops.length % 3 === 2) {
          const id = present.splice((ops.length * 7) % present.length, 1)[0]!;
          const res = await fetch(`${server.base}/api/images/${id}`, { method: 'DELETE' });
          if (res.status !== 204 && res.status !== 200) throw new Error(`delete answered ${res.status}`);
          ops.push({ kind: 'delete', id, sentAt, ackAt: performance.now() });
        } else {
          const png = await scenePng(seed++);
          const id = await add(server.base, png);
          ops.push({ kind: 'add', id, sentAt, ackAt: performance.now() });
          present.push(id);
          images.set(id, { sha256: sha(png), thumbnail: await thumbnail(server.base, id), png });
        }
      }
    })();
    const opsSeen = (n: number) =>
      new Promise<void>((resolve, reject) => {
        const check = () => (ops.length >= n ? resolve() : setTimeout(check, 10));
        stream.catch(reject);
        check();
      });
    await opsSeen(6);

    // refused: a backup inside the data folder
    const inside = await runScript('scripts/backup.ts', [join(dataDir, 'backup')], baseEnv(dataDir));
    expect(inside.code).toBe(2);
    expect(inside.stderr).toMatch(/is inside the data folder/);

    const target = join(root, 'backup');
    const spawnedAt = performance.now();
    const ackedBefore = ops.length; // every change answered before the backup started
    const backup = startScript('scripts/backup.ts', [target], baseEnv(dataDir));
    const backupOut = watchOutput(backup);
    const backupDone = new Promise<number | null>((resolve) => backup.on('close', resolve));
    await backupOut.waitFor(/snapshot of the database at change \d+/, STALL_MS);
    const sentBeforeSnapshot = ops.length + 1; // those answered, and the one in flight
    expect(await backupDone).toBe(0);
    const backupEndedAt = performance.now();
    await opsSeen(sentBeforeSnapshot + 3); // the stream went on past the snapshot
    stopStream = true;
    await stream;
    const manifest = JSON.parse(readFileSync(join(target, 'backup.json'), 'utf8'));
    expect(backupOut.text).toMatch(/backup: database pages \d+\/\d+ \(100\.0%\)/);
    expect(backupOut.text).toMatch(/backup: index flat as last saved/);
    expect(manifest.files.map((f: { path: string }) => f.path).sort()).toEqual([
      expect.stringMatching(/^index\/flat\.\d+\.faiss$/),
      'index/flat.json',
      'lookalike.db',
    ]);
    expect(manifest.models).toEqual([
      expect.objectContaining({
        setting: 'LOOKALIKE_MMPROJ',
        path: TINY_MMPROJ,
        sha256: sha(readFileSync(TINY_MMPROJ)),
      }),
    ]);
    expect(manifest.digest).toMatch(/^[0-9a-f]{64}$/);

    // refused: a restore over the folder the server has open
    const busy = await runScript('scripts/restore.ts', [target, '--data-dir', dataDir], baseEnv(dataDir));
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/is in use by process/);
    await server.stop();

    // refused: a damaged backup (one byte of the database changed)
    const damaged = join(root, 'damaged');
    cpSync(target, damaged, { recursive: true });
    const db = readFileSync(join(damaged, 'lookalike.db'));
    db[db.length - 1]! ^= 1;
    writeFileSync(join(damaged, 'lookalike.db'), db);
    const bad = await runScript('scripts/restore.ts', [damaged, '--data-dir', join(root, 'never')], baseEnv(dataDir));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/lookalike\.db in the backup is damaged/);
    expect(existsSync(join(root, 'never', 'lookalike.db'))).toBe(false);

    const restored = join(root, 'restored');
    const first = await runScript('scripts/restore.ts', [target, '--data-dir', restored], baseEnv(restored));
    expect(first.code, first.stderr).toBe(0);
    // refused: a folder that holds a gallery, unless --force
    const again = await runScript('scripts/restore.ts', [target, '--data-dir', restored], baseEnv(restored));
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already holds a gallery .*--force/);
    const forced = await runScript(
      'scripts/restore.ts',
      [target, '--data-dir', restored, '--force'],
      baseEnv(restored),
    );
    expect(forced.code, forced.stderr).toBe(0);

    const copy = await startServer(restored);
    try {
      // the index was saved before the stream: the server caught it up from the database's change log
      expect(copy.output.text).toMatch(
        /index: the index file is behind the database: \d+ to add, \d+ removed; syncing/,
      );
      const ids = await allIds(copy.base);
      // the gallery after some k changes of the stream: at least all answered before the backup started, none sent
      // after its snapshot
      const states: number[][] = [];
      const state = new Set(seeded);
      states.push([...state].sort((a, b) => a - b));
      for (const op of ops) {
        if (op.kind === 'add') state.add(op.id);
        else state.delete(op.id);
        states.push([...state].sort((a, b) => a - b));
      }
      const k = states.findIndex((s) => JSON.stringify(s) === JSON.stringify(ids));
      expect(k, `the restored ids ${JSON.stringify(ids)} are no moment of the stream`).toBeGreaterThanOrEqual(0);
      expect(k).toBeGreaterThanOrEqual(ackedBefore);
      expect(k).toBeLessThanOrEqual(sentBeforeSnapshot);
      expect(ops.filter((o) => o.ackAt < spawnedAt).length).toBe(ackedBefore);
      // under load: the server answered changes while the backup ran
      const during = ops.filter((o) => o.ackAt > spawnedAt && o.ackAt < backupEndedAt).length;
      expect(during).toBeGreaterThan(0);
      console.log(
        `backup under load: ${ops.length} changes, ${during} answered while the backup ran; ` +
          `restored: the gallery after change ${k} (answered before the backup started: ${ackedBefore}, ` +
          `sent before its snapshot: ${sentBeforeSnapshot})`,
      );

      type Stats = { images: number; embedded: number; index: { live: number } };
      const stats = (await (await fetch(`${copy.base}/api/stats`)).json()) as Stats;
      expect(stats).toMatchObject({ images: ids.length, embedded: ids.length, index: { live: ids.length } });
      expect(manifest.snapshot).toMatchObject({ images: ids.length, embedded: ids.length });
      // a delete moves an image to the trash: the snapshot holds the trash of its moment too (an add and then a delete
      // of that image leave the gallery as it was, so the moments whose gallery matches are told apart by the trash)
      const moments = states.flatMap((s, i) => (JSON.stringify(s) === JSON.stringify(ids) ? [i] : []));
      const trashedAt = (i: number) => ops.slice(0, i).filter((o) => o.kind === 'delete').length;
      expect(moments.map(trashedAt)).toContain(manifest.snapshot.trashed);
      expect(((await (await fetch(`${copy.base}/api/stats`)).json()) as { trashed: number }).trashed).toBe(
        manifest.snapshot.trashed,
      );
      for (const id of ids) {
        const record = (await (await fetch(`${copy.base}/api/images/${id}`)).json()) as { sha256: string };
        expect(record.sha256).toBe(images.get(id)!.sha256);
        expect((await thumbnail(copy.base, id)).equals(images.get(id)!.thumbnail)).toBe(true);
      }
      // images added after the index's save are found by search: the index holds them
      for (const id of ids.filter((i) => !seeded.includes(i)).slice(-4)) {
        const png = images.get(id)!.png;
        const q = multipart({ image: { filename: 'q.png', data: png, contentType: 'image/png' }, k: '1' });
        const asked = await fetch(`${copy.base}/api/search`, {
          method: 'POST',
          body: new Uint8Array(q.payload),
          headers: q.headers,
        });
        const found = await asked.json();
        expect((found as { results: { id: number }[] }).results[0]!.id).toBe(id);
      }
    } finally {
      await copy.stop();
    }
  });
});
