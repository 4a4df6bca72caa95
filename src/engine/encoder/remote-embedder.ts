// The Embedder of a process that loads no model (a server with LOOKALIKE_QUERY_ENCODER=queue): the identity and the
// decoding come from the model files' headers, here; the vectors from wherever the transport takes the decoded image
// or the words (the job queue's workers, src/application/jobs/remote.ts).
import type { EncoderIdentity } from '../../core/identity.js';
import type { DecodedImage } from '../image/decode.js';
import { embeddingOf, type Embedding, type ModelDescription, type TextEmbedder } from './embedder.js';

/** Carries a query to the model and its unit vector back. */
export interface QueryTransport {
  embedImage(image: DecodedImage): Promise<Float32Array>;
  embedText(text: string): Promise<Float32Array>;
  /** Stops sending; queries under way may fail. */
  close(): Promise<void>;
}

export class RemoteEmbedder implements TextEmbedder {
  readonly device = 'workers (LOOKALIKE_QUERY_ENCODER=queue)';
  readonly textSearch: true;

  constructor(
    private readonly description: ModelDescription,
    private readonly transport: QueryTransport,
  ) {
    this.textSearch = description.textSearch as true; // the routes check isTextEmbedder() before calling embedText
  }

  get identity(): EncoderIdentity {
    return this.description.identity;
  }
  get dim(): number {
    return this.identity.dim;
  }

  decode(image: Buffer): Promise<DecodedImage> {
    return this.description.decode(image);
  }

  async encode(image: DecodedImage): Promise<Embedding> {
    return embeddingOf(await this.transport.embedImage(image), image);
  }

  async embed(image: Buffer): Promise<Embedding> {
    return this.encode(await this.decode(image));
  }

  embedText(text: string): Promise<Float32Array> {
    return this.transport.embedText(text);
  }

  dispose(): Promise<void> {
    return this.transport.close();
  }
}
