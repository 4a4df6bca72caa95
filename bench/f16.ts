// bench/f16: whether stored vectors lose anything as half floats. Encodes the demo gallery (Fashion-MNIST, the
// demo encoder, or the configured model with LOOKALIKE_* as for npm start), rounds each vector through F16 as the
// store does, and prints the lowest and mean cosine to the F32 vector, and how the top-10 neighbour lists compare.
//   npx tsx bench/f16.ts [--gallery-per-class N]
import { demoSplit, fashionPng, GALLERY_PER_CLASS, readFashion } from '../src/engine/demo/fashion-mnist.js';
import { serverModels } from '../src/application/models/model-set.js';
import { decodeHalf, encodeHalf } from '../src/core/util/vector-format.js';
import { parseCli, runCli } from '../scripts/cli-common.js';

const USAGE = 'usage: npx tsx bench/f16.ts [--gallery-per-class N]';
const dot = (a: Float32Array, b: Float32Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};
const top10 = (q: Float32Array, all: Float32Array[]) =>
  all
    .map((v, i) => [dot(q, v), i] as const)
    .sort((a, b) => b[0] - a[0])
    .slice(1, 11)
    .map((x) => x[1]);

runCli(USAGE, async () => {
  const { values, config } = parseCli(
    process.argv.slice(2),
    { 'gallery-per-class': { type: 'string', help: `default ${GALLERY_PER_CLASS}` } },
    USAGE,
  );
  const test = readFashion('t10k');
  const { gallery } = demoSplit(test.labels, Number(values['gallery-per-class'] ?? GALLERY_PER_CLASS));
  const models = await serverModels(config, (m) => process.stderr.write(`${m}\n`));
  try {
    const full: Float32Array[] = [];
    for (const i of gallery) full.push((await models.encoder.embed(await fashionPng(test, i))).vector);
    const half = full.map((v) => decodeHalf(encodeHalf(v)));
    const cos = full.map((v, i) => dot(v, half[i]!) / Math.sqrt(dot(v, v) * dot(half[i]!, half[i]!)));
    const overlap = full.map((v, i) => {
      const a = top10(v, full),
        b = new Set(top10(half[i]!, half));
      return a.filter((x) => b.has(x)).length / 10;
    });
    const reordered = full.filter((v, i) => top10(v, full).join() !== top10(half[i]!, half).join()).length;
    console.log(
      `${full.length} encodes of ${full[0]!.length} dims (${models.encoder.identity.modelId}): cosine F16 to F32 ` +
        `min ${Math.min(...cos).toFixed(7)}, ` +
        `mean ${(cos.reduce((a, b) => a + b, 0) / cos.length).toFixed(7)}; top-10 overlap F16 vs ` +
        `F32 ${(overlap.reduce((a, b) => a + b, 0) / overlap.length).toFixed(4)}, lists in another ` +
        `order ${reordered} of ${full.length}`,
    );
  } finally {
    await models.dispose();
  }
});
