// The probe's training thread (the ProbeKeeper starts it): reads the labelled vectors from SQLite itself (a read-only
// connection beside the server's), trains when they changed since the probe it was given, persists the result, posts
// it back and exits. One run per thread, so the API's event loop never waits on a fit.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { Store } from '../store/store.js';
import {
  PROBE_FILE,
  labelStamp,
  saveProbe,
  toProbeData,
  trainProbe,
  type ProbeJob,
  type ProbeOutcome,
} from '../knn/probe.js';

const job = workerData.job as ProbeJob;
const store = new Store(join(job.dataDir, 'lookalike.db'), true);
let outcome: ProbeOutcome;
try {
  store.useModel(job.identity);
  const labelOf = new Map(store.labelledImages().map((r) => [r.id, r.label]));
  const rows: { id: number; label: string }[] = [];
  const batches: Float32Array[] = [];
  for (const batch of store.vectorBatches(2048, [...labelOf.keys()])) {
    // only those embedded for this model
    for (const id of batch.ids) rows.push({ id, label: labelOf.get(id)! });
    batches.push(batch.vectors);
  }
  const stamp = labelStamp(job.identity.modelId, rows);
  const classes = new Set(rows.map((r) => r.label)).size;
  if (stamp === job.knownStamp) outcome = { kind: 'unchanged' };
  else if (classes < 2) {
    rmSync(join(job.dataDir, PROBE_FILE), { force: true }); // a softmax over one class is no classifier
    outcome = { kind: 'too-few', classes };
  } else {
    const x = new Float32Array(rows.length * job.identity.dim);
    let at = 0;
    for (const b of batches) {
      x.set(b, at);
      at += b.length;
    }
    const probe = trainProbe(
      toProbeData(
        job.identity.dim,
        rows.map((r) => r.label),
        x,
      ),
      { modelId: job.identity.modelId, stamp },
    );
    saveProbe(job.dataDir, probe);
    outcome = { kind: 'trained', probe };
  }
} finally {
  store.close();
}
parentPort!.postMessage(outcome);
