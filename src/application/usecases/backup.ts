// Online backup of a gallery's data folder, beside the server that writes it, and its restore.
//
// A backup never takes the folder's writer lock. It copies, in this order:
//  1. the index manifest and the very index file it names, as last saved (a save never rewrites a generation's file,
//     and the file is held open while it is copied, so a save meanwhile cannot take it away);
//  2. probe.json (written whole by a rename);
//  3. the database, through SQLite's online backup on a read-only connection that holds one read transaction for
//     the whole copy: the snapshot is the database as it was when that transaction began. In WAL mode a reader does
//     not stop the writer; only the WAL's checkpoint waits until the copy ends.
// The index is older than the database it goes with: the server that opens the restored folder catches it up from
// the database's change log (its manifest keeps the last change it holds), as after any crash.
// The models are not copied (GBs, and they can be fetched again); they are listed with their sha256.
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Config } from '../../core/config.js';
import { lockDataDir } from '../../engine/gallery/lock.js';
import { folderIndexKind } from '../../engine/gallery/index-maintainer.js';
import { fileFingerprint } from '../../engine/encoder/fingerprint.js';
import { PROBE_FILE } from '../../engine/knn/probe.js';
import {
  DEMO_EMBED_MMPROJ,
  DEMO_EMBED_MODEL,
  DEMO_MMPROJ,
  DEMO_RERANK_MODEL,
  DEMO_TEXT_MMPROJ,
  DEMO_TEXT_MODEL,
} from '../models/resolve.js';
import {
  copyHashed,
  fsyncPath,
  hashFile,
  isInside,
  readManifest,
  sealManifest,
  writeManifest,
  type FileEntry,
} from '../../core/util/manifest.js';
import { Progress, type ProgressSink } from '../../core/util/progress.js';

export const BACKUP_MANIFEST = 'backup.json';
const DATABASE = 'lookalike.db';
const FORMAT = 1;
/** Database pages copied per step of the online backup (4 MB of 4 KB pages): progress between steps. */
const PAGES_PER_STEP = 1024;
const MIB = 2 ** 20;

/** images and labelled: in the gallery; trashed: in the trash (kept with its rows, vectors and thumbnails). */
export interface SnapshotCounts {
  images: number;
  embedded: number;
  labelled: number;
  trashed: number;
}

export interface BackupManifest {
  format: number;
  kind: 'lookalike-backup';
  createdAt: string;
  source: string;
  /** The database as the backup saw it: its counts and its last vector change. */
  snapshot: SnapshotCounts & { changeSeq: number; schemaVersion: number };
  /** The model the gallery's vectors are of (its mmproj's sha256 is `fingerprint`). */
  model: { modelId: string; fileName: string; fingerprint: string; dim: number } | null;
  /** The index as last saved: its kind, and the database change it holds (the server catches up from there). */
  index: { kind: string; syncedSeq: number | null } | null;
  /** The files in the backup, relative to it. */
  files: FileEntry[];
  /** The configured model files: listed, not copied. */
  models: (FileEntry & { setting: string })[];
  digest: string;
}

/** A backup or restore refused before it changed anything (a target inside the data folder, a damaged backup). */
export class BackupError extends Error {}

/** The index manifest and the file it names, copied as one save left them (a save meanwhile: read again). */
async function copyIndex(
  dataDir: string,
  target: string,
  sink: ProgressSink,
  say: (m: string) => void,
): Promise<{ entries: FileEntry[]; index: BackupManifest['index'] }> {
  const kind = folderIndexKind(dataDir);
  if (!kind) return { entries: [], index: null };
  const dir = join(dataDir, 'index');
  mkdirSync(join(target, 'index'));
  for (let attempt = 0; attempt < 10; attempt++) {
    const text = readFileSync(join(dir, `${kind}.json`), 'utf8');
    const m = JSON.parse(text) as { file: string | null; fileBytes: number; syncedSeq?: number };
    let fd: number | null = null;
    if (m.file) {
      try {
        fd = openSync(join(dir, m.file), 'r');
      } catch (err) {
        // a newer save replaced it between the two reads: read the manifest again
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
    }
    const entries: FileEntry[] = [];
    try {
      if (fd !== null && m.file) {
        const mib = Math.ceil(m.fileBytes / MIB);
        const progress = new Progress('backup: index file MiB', mib, sink);
        let bytes = 0;
        const copied = await copyHashed({ fd }, join(target, 'index', m.file), (n) => {
          bytes += n;
          progress.advance(Math.floor(bytes / MIB) - progress.done);
        });
        progress.advance(mib - progress.done);
        progress.draw(true);
        if (copied.bytes !== m.fileBytes) {
          throw new Error(`index/${m.file} is ${copied.bytes} bytes, its manifest says ${m.fileBytes}`);
        }
        entries.push({ path: `index/${m.file}`, ...copied });
      }
    } finally {
      if (fd !== null) closeSync(fd);
    }
    writeFileSync(join(target, 'index', `${kind}.json`), text, { flag: 'w' });
    entries.push({ path: `index/${kind}.json`, ...(await hashFile(join(target, 'index', `${kind}.json`))) });
    const listed = entries.map((e) => `${e.path} ${e.bytes} bytes`).join(', ');
    say(`backup: index ${kind} as last saved (database change ${m.syncedSeq ?? 'unknown'}): ${listed}`);
    return { entries, index: { kind, syncedSeq: m.syncedSeq ?? null } };
  }
  throw new Error(`the index in ${dir} was saved again and again while it was read: try the backup again`);
}

/** Every model file the settings name, as the server would find it, without downloading anything. */
export function configuredModelFiles(cfg: Config): { setting: string; path: string }[] {
  const out: { setting: string; path: string }[] = [];
  const demoFiles: Record<string, string> = {
    LOOKALIKE_EMBED_MODEL: DEMO_EMBED_MODEL,
    LOOKALIKE_TEXT_MODEL: DEMO_TEXT_MODEL,
    LOOKALIKE_RERANK_MODEL: DEMO_RERANK_MODEL,
  };
  if (cfg.LOOKALIKE_MMPROJ === '') {
    const path = cfg.LOOKALIKE_EMBED_MODEL === 'demo' ? DEMO_EMBED_MMPROJ : DEMO_MMPROJ;
    out.push({ setting: 'LOOKALIKE_MMPROJ', path });
  }
  if (cfg.LOOKALIKE_TEXT_MODEL === 'demo' && cfg.LOOKALIKE_TEXT_MMPROJ === '') {
    out.push({ setting: 'LOOKALIKE_TEXT_MMPROJ', path: DEMO_TEXT_MMPROJ });
  }
  const settings = [
    'LOOKALIKE_MMPROJ',
    'LOOKALIKE_EMBED_MODEL',
    'LOOKALIKE_TEXT_MODEL',
    'LOOKALIKE_TEXT_MMPROJ',
    'LOOKALIKE_LORA',
    'LOOKALIKE_RERANK_MODEL',
    'LOOKALIKE_RERANK_MMPROJ',
  ] as const;
  let downloaded = false;
  for (const setting of settings) {
    const spec = cfg[setting];
    if (spec === '') continue;
    if (spec === 'demo') out.push({ setting, path: demoFiles[setting]! });
    else if (spec.startsWith('hf:')) downloaded = true;
    else out.push({ setting, path: resolve(spec) });
  }
  // an hf: URI is a file node-llama-cpp downloaded into the models folder, under a name of its choosing: list them all
  if (downloaded && existsSync(cfg.modelsDir)) {
    for (const f of readdirSync(cfg.modelsDir)) {
      if (f.endsWith('.gguf')) out.push({ setting: 'LOOKALIKE_MODELS_DIR', path: join(cfg.modelsDir, f) });
    }
  }
  return out.filter((m, i) => out.findIndex((o) => o.path === m.path) === i && existsSync(m.path));
}

export interface BackupOptions {
  /** The gallery's folder (the server's data folder; the demo's subfolder with the demo models). */
  dataDir: string;
  target: string;
  config: Config;
  progress?: ProgressSink;
  /** Called once the database snapshot is taken: what is in the backup is fixed from here on. */
  onSnapshot?: (snapshot: BackupManifest['snapshot']) => void;
}

/** Takes a backup of a gallery into `target` (a new or empty folder outside the data folder); returns its manifest. */
export async function backup(opts: BackupOptions): Promise<BackupManifest> {
  const dataDir = resolve(opts.dataDir),
    target = resolve(opts.target);
  const sink = opts.progress ?? process.stderr;
  const say = (m: string) => (typeof sink === 'function' ? sink(m) : sink.write(`${m}\n`));
  if (!existsSync(join(dataDir, DATABASE))) throw new BackupError(`there is no gallery in ${dataDir} (no ${DATABASE})`);
  if (isInside(dataDir, target)) {
    throw new BackupError(`the backup folder ${target} is inside the data folder ${dataDir}: choose one outside it`);
  }
  if (isInside(target, dataDir)) {
    throw new BackupError(`the data folder ${dataDir} is inside the backup folder ${target}: choose another`);
  }
  if (existsSync(target) && readdirSync(target).length) {
    throw new BackupError(`${target} is not empty: give a new or empty folder`);
  }
  mkdirSync(target, { recursive: true });
  const started = performance.now();

  const { entries: files, index } = await copyIndex(dataDir, target, sink, say);
  if (existsSync(join(dataDir, PROBE_FILE))) {
    files.push({ path: PROBE_FILE, ...(await copyHashed(join(dataDir, PROBE_FILE), join(target, PROBE_FILE))) });
  }

  const db = new Database(join(dataDir, DATABASE), { readonly: true, fileMustExist: true });
  let snapshot: BackupManifest['snapshot'], model: BackupManifest['model'];
  try {
    db.pragma('busy_timeout = 5000');
    // one read transaction from the counts to the last page: the counts are those of the pages copied, and the
    // stepped copy reads that one snapshot (without it, every write of the server restarts the copy from page 1,
    // and under a steady stream of adds it never ends)
    db.exec('BEGIN');
    const one = <T>(sql: string) => db.prepare(sql).pluck().get() as T;
    const active = db.prepare(
      'SELECT model_id AS modelId, file_name AS fileName, fingerprint, dim FROM models ' + 'WHERE active = 1',
    );
    model = (active.get() as BackupManifest['model']) ?? null;
    // a folder a server of this version opened has the trash's column; an older one has no trash
    const trash = one<number>("SELECT COUNT(*) FROM pragma_table_info('images') WHERE name = 'trashed_ms'") > 0;
    const live = trash ? 'trashed_ms IS NULL' : '1';
    snapshot = {
      images: one<number>(`SELECT COUNT(*) FROM images WHERE ${live}`),
      embedded: one<number>('SELECT COUNT(*) FROM embeddings e JOIN models m ON m.id = e.model_id AND m.active = 1'),
      labelled: one<number>(`SELECT COUNT(*) FROM images WHERE label IS NOT NULL AND ${live}`),
      trashed: trash ? one<number>('SELECT COUNT(*) FROM images WHERE trashed_ms IS NOT NULL') : 0,
      changeSeq: one<number>('SELECT COALESCE(MAX(seq), 0) FROM embedding_changes'),
      schemaVersion: db.pragma('user_version', { simple: true }) as number,
    };
    say(
      `backup: snapshot of the database at change ${snapshot.changeSeq}: ${snapshot.images} images, ` +
        `${snapshot.embedded} embedded, ${snapshot.labelled} labelled, ${snapshot.trashed} in the trash`,
    );
    opts.onSnapshot?.(snapshot);
    const pages = db.pragma('page_count', { simple: true }) as number;
    const progress = new Progress('backup: database pages', pages, sink);
    const { totalPages } = await db.backup(join(target, DATABASE), {
      progress: ({ totalPages: total, remainingPages }) => {
        progress.advance(total - remainingPages - progress.done);
        return PAGES_PER_STEP;
      },
    });
    progress.advance(totalPages - progress.done); // the last step is reported by no progress call
    progress.draw(true);
    db.exec('COMMIT');
  } finally {
    db.close();
  }

  // the copy as one file (no WAL beside it), checked against the snapshot's counts
  const copy = new Database(join(target, DATABASE));
  try {
    copy.pragma('journal_mode = DELETE');
    const check = copy.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new Error(`the database copy does not pass SQLite's quick_check: ${String(check)}`);
    const images = copy.prepare('SELECT COUNT(*) FROM images').pluck().get() as number;
    if (images !== snapshot.images + snapshot.trashed) {
      throw new Error(`the database copy holds ${images} images, the snapshot ${snapshot.images + snapshot.trashed}`);
    }
  } finally {
    copy.close();
  }
  files.push({ path: DATABASE, ...(await hashFile(join(target, DATABASE))) });

  const models: BackupManifest['models'] = [];
  for (const m of configuredModelFiles(opts.config)) {
    const { sha256 } = await fileFingerprint(m.path, join(opts.config.modelsDir, 'fingerprints.json'));
    models.push({ setting: m.setting, path: m.path, bytes: statSync(m.path).size, sha256 });
  }

  const manifest = sealManifest({
    format: FORMAT,
    kind: 'lookalike-backup' as const,
    createdAt: new Date().toISOString(),
    source: dataDir,
    snapshot,
    model,
    index,
    files,
    models,
  });
  writeManifest(target, BACKUP_MANIFEST, manifest);
  const bytes = files.reduce((n, f) => n + f.bytes, 0);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  say(`backup: done in ${seconds} s: ${snapshot.embedded} images, ${(bytes / 2 ** 20).toFixed(1)} MiB in ${target}`);
  return manifest;
}

/** Reads a backup's manifest and checks it is whole: its digest, and every file's size and sha256. */
export function checkBackup(dir: string): Promise<BackupManifest> {
  return readManifest<BackupManifest>(
    dir,
    BACKUP_MANIFEST,
    { kind: 'lookalike-backup', format: FORMAT, what: 'backup' },
    (m) => new BackupError(m),
  );
}

/** What a data folder holds that a restore would replace. */
function heldData(dataDir: string): string[] {
  const parts = [DATABASE, `${DATABASE}-wal`, `${DATABASE}-shm`, 'index', PROBE_FILE];
  return parts.filter((f) => existsSync(join(dataDir, f)));
}

export interface RestoreOptions {
  backupDir: string;
  dataDir: string;
  force?: boolean;
  say?: (m: string) => void;
}

/**
 * Puts a checked backup into a data folder that no process uses (its lock is taken for the restore) and that holds no
 * gallery (unless `force`: then its database, index and probe are replaced; other files stay).
 */
export async function restore(opts: RestoreOptions): Promise<BackupManifest> {
  const say = opts.say ?? ((m: string) => process.stderr.write(`${m}\n`));
  const backupDir = resolve(opts.backupDir),
    dataDir = resolve(opts.dataDir);
  const started = performance.now();
  const manifest = await checkBackup(backupDir);
  say(`restore: ${backupDir} is whole: ${manifest.snapshot.embedded} images, taken ${manifest.createdAt}`);
  mkdirSync(dataDir, { recursive: true });
  const unlock = lockDataDir(dataDir); // refuses a folder a server or an index run has open
  try {
    const held = heldData(dataDir);
    if (held.length && !opts.force) {
      throw new BackupError(
        `${dataDir} already holds a gallery (${held.join(', ')}): ` +
          'restore into a new folder, or give --force to replace it',
      );
    }
    // everything into a staging folder first; the database moves in last, so a cut restore leaves no database
    const staging = join(dataDir, `.restore-${process.pid}`);
    rmSync(staging, { recursive: true, force: true });
    for (const f of manifest.files) {
      mkdirSync(dirname(join(staging, f.path)), { recursive: true });
      const got = await copyHashed(join(backupDir, f.path), join(staging, f.path));
      if (got.sha256 !== f.sha256) throw new BackupError(`${f.path} changed while it was restored`);
      fsyncPath(join(staging, f.path));
    }
    for (const f of held) rmSync(join(dataDir, f), { recursive: true, force: true });
    const last = (f: FileEntry) => Number(f.path === DATABASE);
    const order = [...manifest.files].sort((a, b) => last(a) - last(b));
    for (const f of order) {
      mkdirSync(dirname(join(dataDir, f.path)), { recursive: true });
      renameSync(join(staging, f.path), join(dataDir, f.path));
    }
    rmSync(staging, { recursive: true, force: true });
    if (existsSync(join(dataDir, 'index'))) fsyncPath(join(dataDir, 'index'));
    fsyncPath(dataDir);
  } finally {
    unlock();
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  say(
    `restore: done in ${seconds} s: ${dataDir} holds the backup's gallery ` +
      `(${manifest.snapshot.embedded} images of model ${manifest.model?.fileName ?? '?'}); ` +
      'start the server on it: it brings the index up to date from the database at open',
  );
  return manifest;
}
