// bench/tracing-span: what one span() call costs, with tracing off (a plain call behind a check) and on (a real span,
// batched and exported to OTEL_EXPORTER_OTLP_ENDPOINT when that is set; run a collector or a sink there).
//   npx tsx bench/tracing-span.ts        (off only)
//   OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 npx tsx bench/tracing-span.ts
import { span, startTracing, stopTracing } from '../src/core/util/tracing.js';

const work = () => 1;
function time(label: string, n: number, f: () => unknown): void {
  for (let i = 0; i < n / 10; i++) f(); // warm-up: the JIT has compiled both paths
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) f();
  console.log(`${label}: ${(Number(process.hrtime.bigint() - started) / n).toFixed(1)} ns per call`);
}

for (let round = 0; round < 3; round++) {
  time('plain call', 2_000_000, work);
  time('span(), tracing off', 2_000_000, () => span('x', work));
}
const tracing = await startTracing('bench-tracing-span');
if (tracing) {
  console.log(tracing);
  for (let round = 0; round < 3; round++) time('span(), tracing on, export included', 200_000, () => span('x', work));
  await stopTracing();
}
