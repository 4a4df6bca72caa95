// A re-scoring worker: finishes the searches of a batch the index worker hands it (through its own port), and answers
// them to the main thread (VectorIndex) under the search's own message number (only a batch's searches come here).
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

fromIndex.on('message', (msg: Rescoring & { seq: number }) => {
  let response: Response;
  try {
    response = { seq: msg.seq, ok: true, result: stored.finish(msg), batched: true };
  } catch (err) {
    response = { seq: msg.seq, ok: false, error: err instanceof Error ? err.message : String(err), batched: true };
  }
  parentPort!.postMessage(response);
});
