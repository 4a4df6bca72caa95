// Turns a model setting into a local file: a path as it is, or an `hf:` URI resolved and downloaded (with
// progress) by node-llama-cpp's model downloader into the models folder. With no model configured, the demo's
// tiny random model is written on the spot.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ModelFileError } from '../errors.js';
import { ensureRandomMmproj, TINY_TEXT, TINY_VISION, writeRandomTextModel } from './random-models.js';

export const DEMO_MMPROJ_NAME = 'demo-tiny-qwen3vl-mmproj.gguf';
export const DEMO_TEXT_NAME = 'demo-tiny-qwen3vl-text.gguf';

export class ModelDownloadError extends ModelFileError {}

export async function resolveModelFile(spec: string, modelsDir: string, log: (msg: string) => void = () => {}): Promise<string> {
  if (!spec.startsWith('hf:')) {
    const path = resolve(spec);
    if (!existsSync(path)) throw new ModelFileError(`model file not found: ${path}`);
    return path;
  }
  const { resolveModelFile: download } = await import('node-llama-cpp');
  let lastReport = 0;
  try {
    return await download(spec, {
      directory: modelsDir,
      cli: false,
      onProgress: ({ totalSize, downloadedSize }) => {
        const now = Date.now();
        if (now - lastReport < 2000 && downloadedSize < totalSize) return;
        lastReport = now;
        const pct = totalSize ? ((100 * downloadedSize) / totalSize).toFixed(1) : '?';
        log(`downloading ${spec}: ${(downloadedSize / 2 ** 20).toFixed(0)} / ${(totalSize / 2 ** 20).toFixed(0)} MiB (${pct}%)`);
      },
    });
  } catch (err) {
    throw new ModelDownloadError(`could not resolve or download ${spec} into ${modelsDir}: ${(err as Error).message}. ` +
      'If this machine is offline, download the file elsewhere, copy it here and set its local path instead of the hf: URI.');
  }
}

/** The demo encoder: a tiny random-weight Qwen3-VL mmproj, made deterministically in the data folder. */
export function demoMmproj(modelsDir: string): string {
  return ensureRandomMmproj(join(modelsDir, DEMO_MMPROJ_NAME), TINY_VISION, 1);
}

/** The demo's text model (LOOKALIKE_TEXT_MODEL=demo): a tiny random qwen3vl model that matches the demo mmproj. */
export function demoTextModel(modelsDir: string): string {
  const path = join(modelsDir, DEMO_TEXT_NAME);
  if (!existsSync(path)) writeRandomTextModel(path, TINY_TEXT, 2);
  return path;
}
