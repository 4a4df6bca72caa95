// Types of faiss-node as patched by lookalike (patches/faiss-node/faiss.cc). Only the index worker loads it.
// Every failure throws an Error with a `code`: invalid_argument (a TypeError or RangeError for bad arguments),
// faiss_error (faiss refused: an add to an untrained IVF, removeIds on HNSW, ...), out_of_memory, native_error.
declare module 'faiss-node' {
  export enum MetricType {
    METRIC_INNER_PRODUCT = 0,
    METRIC_L2 = 1,
  }
  export class Index {
    /** A flat L2 index of dimension d (a TypeError without one). */
    constructor(d: number);
    static fromBuffer(buffer: Buffer): Index;
    static fromFactory(d: number, description: string, metric?: MetricType): Index;
    static read(path: string): Index;
    static setThreads(n: number): number;
    /** IVF-PQ with 4-bit codes: lookalike's scan (true, the default) or faiss' own (false, for comparison). */
    static setPq4Scan(on: boolean): void;
    ntotal(): number;
    getDimension(): number;
    isTrained(): boolean;
    add(x: Float32Array): void;
    train(x: Float32Array): void;
    search(x: Float32Array, k: number): { distances: Float32Array; labels: Float64Array };
    removeIds(ids: number[]): number;
    write(path: string): void;
    toBuffer(): Buffer;
    /** Moves the vectors of an index of the same class and dimension into this one. */
    mergeFrom(other: Index): void;
    setParameter(name: string, value: number): void;
  }
  export class IndexFlatL2 extends Index {}
  export class IndexFlatIP extends Index {}
}
