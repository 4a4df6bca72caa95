// A re-scoring worker: finishes the searches of a batch the index worker hands it (through its own port), and answers
// them to the main thread (VectorIndex) under the search's own message number (a batch's searches, and searches sent
// while others were outstanding).
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { Response } from './protocol.js';
import { type Rescoring, StoredVectors } from './rescore.js';

const { database, modelId, kind, fromIndex } = workerData as {
  database?: string;
  modelId: string;
  kind: string;
  fromIndex: MessagePort;
};
const stored = new StoredVectors(database, modelId, kind);

fromIndex.on('message', (msg: Rescoring & { seq: number; batched: boolean }) => {
  let response: Response;
  try {
    response = { seq: msg.seq, ok: true, result: stored.finish(msg) };
  } catch (err) {
    response = { seq: msg.seq, ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(msg.batched ? { ...response, batched: true } : response);
});
