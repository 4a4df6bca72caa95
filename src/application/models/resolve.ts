// Turns a model setting into a local file: a path as it is, or an `hf:` URI resolved and downloaded (with
// progress) by node-llama-cpp's model downloader into the models folder. With no model configured, the demo's
// models: the tiny ones trained on Fashion-MNIST that ship in src/engine/demo/models.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelFileError } from '../../core/errors.js';

/** The trained demo models (scripts/reference/train.py made them; training.json says how). */
export const DEMO_MODELS_DIR = fileURLToPath(new URL('../../engine/demo/models/', import.meta.url));
export const DEMO_MMPROJ = join(DEMO_MODELS_DIR, 'fashion-vision-mmproj.gguf');
export const DEMO_EMBED_MODEL = join(DEMO_MODELS_DIR, 'fashion-embedding-text.gguf');
export const DEMO_EMBED_MMPROJ = join(DEMO_MODELS_DIR, 'fashion-embedding-mmproj.gguf');
/** The demo's Instruct text model (scripts/reference/train_instruct.py; instruct.json says how), read with
 *  DEMO_TEXT_MMPROJ. */
export const DEMO_TEXT_MODEL = join(DEMO_MODELS_DIR, 'fashion-instruct-text.gguf');
/** The demo Instruct model's own vision tower (LOOKALIKE_TEXT_MMPROJ's default with LOOKALIKE_TEXT_MODEL=demo): the
 *  vision demo's, fine-tuned with it so that it reads words. */
export const DEMO_TEXT_MMPROJ = join(DEMO_MODELS_DIR, 'fashion-instruct-mmproj.gguf');
/**
 * The demo reranker (scripts/reference/train_reranker.py; reranker.json says how), trained to re-rank the embedding
 * demo's search (words and pictures): it reads pictures through that demo's tower, which it was trained with, frozen.
 */
export const DEMO_RERANK_MODEL = join(DEMO_MODELS_DIR, 'fashion-reranker.gguf');
export const DEMO_RERANK_MMPROJ = DEMO_EMBED_MMPROJ;

export class ModelDownloadError extends ModelFileError {}

export async function resolveModelFile(
  spec: string,
  modelsDir: string,
  log: (msg: string) => void = () => {},
  stallMs = 30_000,
): Promise<string> {
  if (!spec.startsWith('hf:')) {
    const path = resolve(spec);
    if (!existsSync(path)) throw new ModelFileError(`model file not found: ${path}`);
    return path;
  }
  const { resolveModelFile: download } = await import('node-llama-cpp');
  log(`resolving ${spec} into ${modelsDir} (a file already there is used; otherwise it is downloaded)`);
  // A watchdog instead of a fixed timeout: a 5 GB download may take long, but it must keep moving.
  const stalled = new AbortController();
  let watchdog = setTimeout(() => stalled.abort(), stallMs);
  // node-llama-cpp does not pass the signal to its first (metadata) request, so the race is needed too
  const stall = new Promise<never>((_, reject) =>
    stalled.signal.addEventListener('abort', () => reject(new Error('stalled'))),
  );
  let lastReport = 0;
  try {
    return await Promise.race([
      stall,
      download(spec, {
        directory: modelsDir,
        cli: false,
        signal: stalled.signal,
        onProgress: ({ totalSize, downloadedSize }) => {
          clearTimeout(watchdog);
          watchdog = setTimeout(() => stalled.abort(), stallMs);
          const now = Date.now();
          if (now - lastReport < 2000 && downloadedSize < totalSize) return;
          lastReport = now;
          const pct = totalSize ? ((100 * downloadedSize) / totalSize).toFixed(1) : '?';
          log(
            `downloading ${spec}: ${(downloadedSize / 2 ** 20).toFixed(0)} / ${(totalSize / 2 ** 20).toFixed(0)} ` +
              `MiB (${pct}%)`,
          );
        },
      }),
    ]);
  } catch (err) {
    const why = stalled.signal.aborted
      ? `no progress for ${stallMs / 1000} s (is the model hub reachable from here?)`
      : (err as Error).message;
    throw new ModelDownloadError(
      `could not resolve or download ${spec} into ${modelsDir}: ${why}. ` +
        'If this machine is offline, download the file elsewhere, copy it here and set its local path instead of ' +
        'the hf: URI.',
    );
  } finally {
    clearTimeout(watchdog);
  }
}

/**
 * The demo's text model (LOOKALIKE_TEXT_MODEL=demo): the trained tiny Instruct model; it goes with DEMO_TEXT_MMPROJ.
 */
export function demoTextModel(): string {
  return DEMO_TEXT_MODEL;
}

/** The demo's reranker (LOOKALIKE_RERANK_MODEL=demo): trained on Fashion-MNIST, read with DEMO_RERANK_MMPROJ. */
export function demoRerankModel(): string {
  return DEMO_RERANK_MODEL;
}
