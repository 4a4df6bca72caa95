// bench/fashion-vectors: a real vector set for the index benches. The demo embedding model (src/engine/demo/models,
// fashion-embedding-*.gguf, 64 dims) encodes all 70,000 Fashion-MNIST pictures (60,000 training, then 10,000 test)
// once into a cache file; bench:search reads it with `--vectors fashion`. The cache records the sha256 of both model
// files and is refused (start again with --restart) when the model has changed: vectors of two models never mix.
// It resumes where a stopped run left off, and prints progress with a rate and an ETA.
//   npx tsx bench/fashion-vectors.ts [--out /tmp/lookalike-fashion-vectors] [--threads 1] [--restart]
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fashionPng, readFashion } from '../src/engine/demo/fashion-mnist.js';
import { sha256File } from '../src/engine/encoder/fingerprint.js';
import { VlEmbedder } from '../src/engine/encoder/vl-embedder.js';
import { DEMO_EMBED_MMPROJ, DEMO_EMBED_MODEL } from '../src/application/models/resolve.js';

export const FASHION_VECTORS_DIR = process.env.LOOKALIKE_FASHION_VECTORS_DIR || '/tmp/lookalike-fashion-vectors';
const SETS = ['train', 't10k'] as const;

interface Header {
  textSha256: string;
  mmprojSha256: string;
  dim: number;
  total: number;
}

/** The sha256 of the demo embedding model's two files: what the cache is valid for. */
async function modelShas(): Promise<{ textSha256: string; mmprojSha256: string }> {
  return { textSha256: await sha256File(DEMO_EMBED_MODEL), mmprojSha256: await sha256File(DEMO_EMBED_MMPROJ) };
}

/** Why a cache's header does not belong to the current model, or null when it does. */
function mismatch(h: Header, shas: { textSha256: string; mmprojSha256: string }): string | null {
  if (h.textSha256 !== shas.textSha256 || h.mmprojSha256 !== shas.mmprojSha256) {
    return (
      `it was encoded by another demo model (text ${h.textSha256.slice(0, 12)}, mmproj ${h.mmprojSha256.slice(0, 12)}; ` +
      `now ${shas.textSha256.slice(0, 12)}, ${shas.mmprojSha256.slice(0, 12)})`
    );
  }
  return null;
}

/** The finished cache: 70,000 unit vectors (train then test order) and their class labels. Throws when it is missing,
 *  unfinished or of another model. */
export async function loadFashionVectors(
  dir = FASHION_VECTORS_DIR,
): Promise<{ vectors: Float32Array; labels: Uint8Array; dim: number; count: number }> {
  const headerPath = join(dir, 'header.json');
  const hint = `run npx tsx bench/fashion-vectors.ts --out ${dir}`;
  if (!existsSync(headerPath)) throw new Error(`${dir} holds no Fashion-MNIST vectors: ${hint}`);
  const h = JSON.parse(readFileSync(headerPath, 'utf8')) as Header;
  const why = mismatch(h, await modelShas());
  if (why) throw new Error(`${dir}: ${why}: ${hint} --restart`);
  const bytes = readFileSync(join(dir, 'vectors.f32'));
  const count = bytes.length / 4 / h.dim;
  if (count !== h.total) throw new Error(`${dir} is unfinished (${count} of ${h.total} vectors): ${hint}`);
  const labels = new Uint8Array(SETS.flatMap((s) => [...readFashion(s).labels]));
  return { vectors: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4), labels, dim: h.dim, count };
}

async function encodeAll(dir: string, threads: number, restart: boolean): Promise<void> {
  const sets = SETS.map((s) => readFashion(s));
  const total = sets.reduce((s, x) => s + x.count, 0);
  const shas = await modelShas();
  const headerPath = join(dir, 'header.json'),
    vectorsPath = join(dir, 'vectors.f32');
  if (restart) rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const embedder = await VlEmbedder.load(DEMO_EMBED_MODEL, DEMO_EMBED_MMPROJ, { threads });
  try {
    const header: Header = { ...shas, dim: embedder.dim, total };
    if (existsSync(headerPath)) {
      const why = mismatch(JSON.parse(readFileSync(headerPath, 'utf8')) as Header, shas);
      if (why) throw new Error(`${dir}: ${why}; --restart encodes them again with this one`);
    } else {
      writeFileSync(`${headerPath}.tmp`, JSON.stringify(header));
      renameSync(`${headerPath}.tmp`, headerPath);
    }
    const rowBytes = 4 * header.dim;
    // a vector is appended whole or not at all; a torn last one (the process killed mid-write) is cut off
    let done = existsSync(vectorsPath) ? Math.floor(statSync(vectorsPath).size / rowBytes) : 0;
    if (existsSync(vectorsPath) && statSync(vectorsPath).size !== done * rowBytes) {
      writeFileSync(vectorsPath, readFileSync(vectorsPath).subarray(0, done * rowBytes));
    }
    const started = performance.now(),
      from = done;
    let lastReport = started,
      pending: Float32Array[] = [];
    const flush = () => {
      appendFileSync(vectorsPath, Buffer.concat(pending.map((v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength))));
      pending = [];
    };
    console.error(
      `encoding ${total} Fashion-MNIST pictures with the demo embedding model into ${dir}: ${done} done already`,
    );
    let offset = 0;
    for (const set of sets) {
      for (let i = Math.max(0, done - offset); i < set.count; i++) {
        pending.push((await embedder.embed(await fashionPng(set, i))).vector);
        done++;
        if (pending.length === 256 || done === total) flush();
        const now = performance.now();
        if (now - lastReport > 10_000 || done === total) {
          lastReport = now;
          const rate = (done - from) / ((now - started) / 1000);
          console.error(
            `  ${done}/${total} (${rate.toFixed(0)}/s, ETA ${((total - done) / rate / 60).toFixed(1)} min)`,
          );
        }
      }
      offset += set.count;
    }
    if (pending.length) flush();
  } finally {
    await embedder.dispose();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: FASHION_VECTORS_DIR },
      threads: { type: 'string', default: '1' },
      restart: { type: 'boolean' },
    },
  });
  await encodeAll(values.out!, Number(values.threads), values.restart ?? false);
}
