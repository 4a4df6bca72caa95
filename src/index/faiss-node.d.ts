// Types of faiss-node as patched by lookalike (patches/faiss-node/faiss.cc). Only the index worker loads it.
declare module 'faiss-node' {
  export enum MetricType { METRIC_INNER_PRODUCT = 0, METRIC_L2 = 1 }
  export class Index {
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
    setParameter(name: string, value: number): void;
  }
}
