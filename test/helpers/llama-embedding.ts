// llama.cpp's own embedding tool (examples/embedding in the source bundle node-llama-cpp ships), built once against the
// same prebuilt libraries as the native module: the reference the embedder's vectors are checked against.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './cli.js';

const BUILD_INFO =
  'int LLAMA_BUILD_NUMBER = 0;\nchar const * LLAMA_COMMIT = "bundle";\n' +
  'char const * LLAMA_COMPILER = "g++";\nchar const * LLAMA_BUILD_TARGET = "lookalike-test";\n';
// The tool prints its JSON through common_log's worker thread, and the logger is never destroyed: what the thread has
// not printed when main() returns is lost (on a busy machine, the JSON's tail or all of it). Pausing the logger at
// exit makes the thread print every queued line first.
const FLUSH_AT_EXIT =
  '#include <cstdlib>\n#include "log.h"\n' +
  'static const int flush_at_exit = std::atexit([] { common_log_pause(common_log_main()); });\n';
const run = promisify(execFile);
const DIR = join(ROOT, 'test', '.tmp', 'llama-embedding');
// named by what it is built from: a tool built by an older version of this file is not reused
const BUILT_FROM = createHash('sha256')
  .update(BUILD_INFO + FLUSH_AT_EXIT)
  .digest('hex')
  .slice(0, 12);
const BIN = join(DIR, `llama-embedding-${BUILT_FROM}`);

function sourceDir(): string {
  const cache = join(ROOT, 'node_modules', '.cache', 'lookalike');
  const tree = readdirSync(cache).find((d) => d.startsWith('llama.cpp-'));
  if (!tree) throw new Error('the llama.cpp source bundle is not unpacked: run npm run build:native');
  return join(cache, tree);
}

/** Builds the tool if it is missing (a few seconds); returns its path. */
export function ensureLlamaEmbedding(): string {
  if (existsSync(BIN)) return BIN;
  const src = sourceDir();
  const bins = join(ROOT, 'node_modules', '@node-llama-cpp', `linux-${process.arch}`, 'bins', `linux-${process.arch}`);
  mkdirSync(DIR, { recursive: true });
  writeFileSync(join(DIR, 'build-info.cpp'), BUILD_INFO);
  writeFileSync(join(DIR, 'flush-at-exit.cpp'), FLUSH_AT_EXIT);
  const llama = readdirSync(bins).find((f) => /^libllama\.v.*\.so$/.test(f))!;
  const ggml = readdirSync(bins).find((f) => /^libggml\.v.*\.so$/.test(f))!;
  execFileSync(
    'g++',
    [
      '-O1',
      '-std=c++17',
      join(src, 'examples', 'embedding', 'embedding.cpp'),
      join(DIR, 'build-info.cpp'),
      join(DIR, 'flush-at-exit.cpp'),
      '-o',
      BIN,
      `-I${join(src, 'include')}`,
      `-I${join(src, 'common')}`,
      `-I${join(src, 'ggml', 'include')}`,
      `-I${join(src, 'vendor')}`,
      `-L${bins}`,
      '-l:libllama-common.so',
      `-l:${llama}`,
      `-l:${ggml}`,
      '-l:libggml-base.so',
      `-Wl,-rpath,${bins}`,
    ],
    { stdio: 'inherit' },
  );
  // ggml_backend_load_all() looks for the CPU backend variants next to the executable
  for (const f of readdirSync(bins).filter((f) => f.startsWith('libggml-cpu-'))) {
    if (!existsSync(join(DIR, f))) symlinkSync(join(bins, f), join(DIR, f));
  }
  return BIN;
}

/** The L2-normalised last-token embedding of a prompt (special tokens parsed, as the tool does), by llama-embedding.
 * Run asynchronously, so that a test can run several at once. */
export async function llamaEmbedding(model: string, prompt: string): Promise<Float32Array> {
  const { stdout } = await run(
    ensureLlamaEmbedding(),
    [
      '-m',
      model,
      '-p',
      prompt,
      '--pooling',
      'last',
      '--embd-normalize',
      '2',
      '--embd-output-format',
      'json',
      '--embd-separator',
      '<lookalike-no-split>',
      '-t',
      '1',
      '-c',
      '512',
      '-ngl',
      '0',
    ],
    { encoding: 'utf8' },
  );
  let json: { data: { embedding: number[] }[] };
  try {
    json = JSON.parse(stdout);
  } catch {
    throw new Error(`llama-embedding printed no whole JSON (${stdout.length} characters): ${stdout.slice(-200)}`);
  }
  return Float32Array.from(json.data[0]!.embedding);
}
