// Entry of every worker thread: loads the TypeScript module named in workerData.entry through tsx.
// (Node 20 does not pass --import loaders on to workers, so the worker registers tsx itself.)
import { workerData } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

await tsImport(workerData.entry, import.meta.url);
