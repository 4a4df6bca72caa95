// Turning a query (an uploaded image, or words) into a vector: through the bounded admission queue (503 busy when
// full), timed into the encode metrics. Every route that encodes goes through here.
import { isTextEmbedder, type Embedder, type TextEmbedder } from '../../engine/encoder/embedder.js';
import { LookalikeError, TextSearchUnavailableError } from '../../core/errors.js';
import { decodeUpload, type DecodedUpload, prepareImage, type PreparedImage } from '../../engine/image/prepare.js';
import type { Admission } from '../../core/util/admission.js';
import type { Metrics } from '../../core/util/metrics.js';
import { span } from '../../core/util/tracing.js';

export class QueryEncoder {
  constructor(
    readonly embedder: Embedder,
    readonly admission: Admission,
    private readonly metrics: Metrics,
  ) {}

  /** Refuses (503 busy) before an upload is read that could not be served. */
  assertRoom(): void {
    this.admission.assertRoom();
  }

  /** Decodes, thumbnails and encodes an upload to store (`hash`: its sha256, when known already). */
  image(data: Buffer, hash?: string): Promise<{ vector: Float32Array; prepared: PreparedImage }> {
    return this.admission.run(async () => {
      const prepared = await prepareImage(this.embedder, data, hash);
      const { vector } = await this.timed('image', () => this.embedder.encode(prepared.decoded));
      return { vector, prepared };
    });
  }

  /** Decodes and encodes an upload asked about (a search, a classification): no thumbnail, as nothing is stored. */
  query(data: Buffer): Promise<{ vector: Float32Array; upload: DecodedUpload }> {
    return this.admission.run(async () => {
      const upload = await decodeUpload(this.embedder, data);
      const { vector } = await this.timed('image', () => this.embedder.encode(upload.decoded));
      return { vector, upload };
    });
  }

  /** Words into the images' space; 409 text_search_unavailable when the embedder sees images only. */
  text(text: string): Promise<Float32Array> {
    const words = this.words();
    return this.admission.run(() => this.timed('text', () => words.embedText(text)));
  }

  /**
   * An upload and words as one input (the image first); 409 text_search_unavailable without an embedding model here.
   */
  imageWithText(data: Buffer, text: string): Promise<Float32Array> {
    const words = this.words();
    const embed = words.embedImageWithText?.bind(words);
    if (!embed)
      throw new LookalikeError(
        'invalid_request',
        'an image with words in one item needs the embedding model in this process ' +
          '(LOOKALIKE_QUERY_ENCODER=local): give them as two items',
      );
    return this.admission.run(async () => {
      const upload = await decodeUpload(this.embedder, data);
      return this.timed('image', () => embed(upload.decoded, text));
    });
  }

  /** The embedder when it embeds words (search by text, zero-shot); 409 text_search_unavailable otherwise. */
  words(): TextEmbedder {
    if (!isTextEmbedder(this.embedder)) throw new TextSearchUnavailableError();
    return this.embedder;
  }

  private timed<T>(input: 'image' | 'text', encode: () => Promise<T>): Promise<T> {
    return span('encode', () => this.metrics.time(this.metrics.encodeDuration, input, encode), {
      'lookalike.input': input,
    });
  }
}
