// The offline index builder: walks a folder, embeds every image not yet embedded for the current model and hands it
// to Ingest, the one write path (which also relabels and backfills what is embedded already). Decoding runs ahead of
// encoding so the encoder never waits on I/O. Each image is committed on its own, so a killed run loses nothing
// committed and the next run picks up where it stopped.
import { readFile, readdir, stat } from 'node:fs/promises';
import { extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Embedder } from '../../engine/encoder/embedder.js';
import { LookalikeError } from '../../core/errors.js';
import type { Gallery } from '../../engine/gallery/gallery.js';
import { sha256 } from '../../core/util/hash.js';
import { prepareImage, type PreparedImage } from '../../engine/image/prepare.js';
import type { JobWriter } from '../jobs/writer.js';
import type { PhotoMeta } from '../../core/domain/records.js';
import { Progress } from '../../core/util/progress.js';
import { Ingest } from './ingest.js';
import { readPhotoMeta } from './photo-meta.js';

export const IMAGE_EXTENSIONS = new Set([
  '.jpg',
  '.jpeg',
  '.png',
  '.webp',
  '.gif',
  '.tif',
  '.tiff',
  '.avif',
  '.heic',
  '.heif',
  '.jp2',
  '.svg',
]);

export interface BuildOptions {
  folder: string;
  labelsFromFolders?: boolean;
  labels?: Map<string, string>; // absolute path -> label
  force?: boolean;
  prefetch?: number; // images decoded ahead of the encoder
  saveEvery?: number; // images between index saves
  progressStream?: NodeJS.WriteStream;
  /** Told the count after each file, and once before the first (0 of all). */
  onProgress?: (done: number, total: number) => void;
  shouldStop?: () => boolean; // SIGINT: finish the current image, save, stop
  /** Encode on the workers: images are enqueued, and stored as their results come back (npm run index -- --queue). */
  writer?: JobWriter;
}

export interface BuildSummary {
  files: number;
  added: number;
  reembedded: number; // already embedded, encoded again (--force)
  skipped: number; // already embedded for this model
  trashed: number; // in the trash: deleted by someone, so not added again (restore it, or empty the trash, first)
  relabelled: number; // already in the gallery with another label: the label was updated
  backfilled: number; // already embedded, from before metadata: its file's metadata stored (not re-encoded)
  duplicates: { path: string; sameAs: string }[];
  failed: { path: string; error: string }[];
  stopped: boolean;
  seconds: number;
  workers?: number; // workers seen, with --queue
}

export async function listImages(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase()))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** Reads a list file: `path,label` per line (CSV with an optional header), paths relative to `base`. */
export function parseLabelList(text: string, base: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [n, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const comma = line.lastIndexOf(',');
    if (comma < 0) throw new LookalikeError('bad_label_list', `line ${n + 1}: expected "path,label", got "${line}"`);
    const path = line.slice(0, comma).trim().replace(/^"|"$/g, '');
    const label = line
      .slice(comma + 1)
      .trim()
      .replace(/^"|"$/g, '');
    if (n === 0 && path.toLowerCase() === 'path' && label.toLowerCase() === 'label') continue;
    out.set(isAbsolute(path) ? path : resolve(base, path), label);
  }
  return out;
}

type Job =
  | { kind: 'ready'; path: string; prepared: PreparedImage; reembed: boolean; photo: PhotoMeta }
  | { kind: 'skipped'; path: string; sha256: string; photo?: PhotoMeta }
  | { kind: 'trashed'; path: string }
  | { kind: 'duplicate'; path: string; sameAs: string }
  | { kind: 'failed'; path: string; error: string };

/** What the builder needs of the model: decoding always, encoding when it encodes here (not with a writer). */
export type BuildEncoder = Pick<Embedder, 'decode'> & Partial<Pick<Embedder, 'encode'>>;

export async function buildIndex(gallery: Gallery, encoder: BuildEncoder, opts: BuildOptions): Promise<BuildSummary> {
  const ingest = new Ingest(gallery);
  const folder = resolve(opts.folder);
  const files = await listImages(folder);
  const progress = new Progress('indexing', files.length, opts.progressStream, undefined, opts.onProgress);
  opts.onProgress?.(0, files.length);
  const summary: BuildSummary = {
    files: files.length,
    added: 0,
    reembedded: 0,
    skipped: 0,
    trashed: 0,
    relabelled: 0,
    backfilled: 0,
    duplicates: [],
    failed: [],
    stopped: false,
    seconds: 0,
  };
  const firstPathOf = new Map<string, string>(); // sha256 -> first file of this run with that content
  const failed = (path: string, err: unknown) => {
    summary.failed.push({ path, error: err instanceof Error ? err.message : String(err) });
    progress.tick('failed');
  };
  const stored = (reembed: boolean) => {
    if (reembed) summary.reembedded++;
    else summary.added++;
    progress.tick(reembed ? 're-embedded' : 'added');
  };
  const labelOf = (path: string): string | null => {
    if (opts.labels) return opts.labels.get(path) ?? null;
    if (!opts.labelsFromFolders) return null;
    const parts = relative(folder, path).split(sep);
    return parts.length > 1 ? parts[0]! : null;
  };

  const prepare = async (path: string): Promise<Job> => {
    try {
      const [data, file] = await Promise.all([readFile(path), stat(path)]);
      const hash = sha256(data);
      const photo = () => readPhotoMeta(data, { at: file.mtime, from: 'file' });
      const earlier = firstPathOf.get(hash);
      if (earlier) return { kind: 'duplicate', path, sameAs: earlier };
      firstPathOf.set(hash, path);
      const known = ingest.content(hash);
      if (known?.trashed) return { kind: 'trashed', path };
      const embedded = known?.embedded === true;
      // already embedded: its metadata is read only when its row predates metadata (the backfill)
      if (embedded && !opts.force)
        return { kind: 'skipped', path, sha256: hash, photo: ingest.lacksMetadata(hash) ? await photo() : undefined };
      return {
        kind: 'ready',
        path,
        prepared: await prepareImage(encoder, data, hash),
        reembed: embedded,
        photo: await photo(),
      };
    } catch (err) {
      return { kind: 'failed', path, error: err instanceof Error ? err.message : String(err) };
    }
  };

  // with --queue: the jobs of this run not stored yet, and how their results are counted as they come back
  const outstanding = new Map<string, { shown: string; reembed: boolean }>();
  let lastCollect = performance.now();
  const collectQueued = async (writer: JobWriter) => {
    lastCollect = performance.now();
    for (const r of await writer.collect(ingest)) {
      const mine = outstanding.get(r.jobId);
      if (!mine) continue;
      outstanding.delete(r.jobId);
      progress.counters.workers = writer.workersSeen.size;
      stored(mine.reembed);
    }
    for (const f of await writer.failures()) {
      const mine = outstanding.get(f.jobId);
      if (!mine) continue;
      outstanding.delete(f.jobId);
      failed(mine.shown, f.reason);
    }
  };

  const ahead: Promise<Job>[] = [];
  let next = 0;
  const prefetch = Math.max(1, opts.prefetch ?? 4);
  let sinceSave = 0;
  while (next < files.length || ahead.length) {
    while (ahead.length < prefetch && next < files.length) ahead.push(prepare(files[next++]!));
    const job = await ahead.shift()!;
    const shown = relative(folder, job.path);
    if (job.kind === 'ready' && opts.writer) {
      try {
        outstanding.set(
          await opts.writer.enqueue(job.prepared, { source: shown, label: labelOf(job.path), photo: job.photo }),
          { shown, reembed: job.reembed },
        );
      } catch (err) {
        failed(shown, err);
      }
      if (performance.now() - lastCollect > 2000) await collectQueued(opts.writer);
    } else if (job.kind === 'ready') {
      try {
        const { vector } = await encoder.encode!(job.prepared.decoded);
        const { relabelled } = await ingest.store(job.prepared, vector, {
          source: shown,
          label: labelOf(job.path),
          photo: job.photo,
        });
        if (relabelled) summary.relabelled++;
        stored(job.reembed);
        if (++sinceSave >= (opts.saveEvery ?? 500)) {
          await gallery.save();
          sinceSave = 0;
        }
      } catch (err) {
        failed(shown, err);
      }
    } else if (job.kind === 'failed') {
      failed(shown, job.error);
    } else if (job.kind === 'trashed') {
      summary.trashed++;
      progress.tick('in the trash');
    } else if (job.kind === 'duplicate') {
      summary.duplicates.push({ path: shown, sameAs: relative(folder, job.sameAs) });
      progress.tick('duplicates');
    } else {
      summary.skipped++;
      // already embedded: only its label may have changed (a folder renamed, a new labels file), and a row from
      // before metadata takes its file's
      const kept = ingest.keepEmbedded(job.sha256, labelOf(job.path), job.photo);
      if (kept?.relabelled) summary.relabelled++;
      if (kept?.backfilled) summary.backfilled++;
      progress.tick('skipped');
    }
    if (opts.shouldStop?.()) {
      summary.stopped = true;
      await Promise.allSettled(ahead);
      break;
    }
  }
  // with --queue: wait for the workers (a stop leaves the rest in Redis; the next run collects what completed)
  if (opts.writer && outstanding.size && !summary.stopped) {
    // with no worker running nothing moves from here on: say what it waits for rather than look hung
    progress.counters.workers = opts.writer.workersSeen.size;
    progress.say(
      `${outstanding.size} images enqueued; waiting for workers to encode them (${opts.writer.workersSeen.size} ` +
        `seen so far; start them with npm run worker)`,
    );
  }
  while (opts.writer && outstanding.size && !summary.stopped) {
    await new Promise((r) => setTimeout(r, 250));
    await collectQueued(opts.writer);
    progress.draw(false); // a line every few seconds, even when no result came
    if (opts.shouldStop?.()) summary.stopped = true;
  }
  if (opts.writer) summary.workers = opts.writer.workersSeen.size;
  await gallery.save();
  progress.draw(true);
  summary.seconds = progress.elapsedSeconds();
  return summary;
}

export function formatSummary(s: BuildSummary): string {
  const lines = [
    `${s.stopped ? 'stopped early' : 'done'} in ${s.seconds.toFixed(1)} s: ${s.files} image files, ${s.added} added, ` +
      `${s.reembedded ? `${s.reembedded} re-embedded, ` : ''}${s.skipped} already ` +
      `indexed${s.backfilled ? ` ` + `(${s.backfilled} given their metadata)` : ''}, ` +
      `${s.trashed ? `${s.trashed} in the trash (skipped), ` : ''}${s.relabelled} relabelled, ` +
      `${s.duplicates.length} exact duplicates, ${s.failed.length} ` +
      `failed${s.workers !== undefined ? `; encoded ` + `by ${s.workers} worker(s)` : ''}`,
  ];
  if (s.duplicates.length)
    lines.push('exact duplicates (stored once):', ...s.duplicates.map((d) => `  ${d.path} = ${d.sameAs}`));
  if (s.failed.length) lines.push('failed:', ...s.failed.map((f) => `  ${f.path}: ${f.error}`));
  return lines.join('\n');
}
