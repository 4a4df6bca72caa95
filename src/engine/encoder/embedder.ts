// What the gallery, the builder and the API need from an embedding model, whichever it is: the Instruct model's vision
// tower (VisionEncoder, images only) or Qwen3-VL-Embedding (VlEmbedder, images and text in one space).
import type { EncoderIdentity } from '../../core/identity.js';
import type { DecodedImage } from '../image/decode.js';

export interface Embedding {
  vector: Float32Array;
  nTokens: number;
  inputWidth: number; // the size the encoder saw
  inputHeight: number;
  sourceWidth: number;
  sourceHeight: number;
}

/** The Embedding of `vector` for a decoded image (nTokens: image tokens, where the model reports them; else 0). */
export function embeddingOf(vector: Float32Array, image: DecodedImage, nTokens = 0): Embedding {
  return {
    vector,
    nTokens,
    inputWidth: image.width,
    inputHeight: image.height,
    sourceWidth: image.sourceWidth,
    sourceHeight: image.sourceHeight,
  };
}

export interface Embedder {
  /** Stored with every vector: the data folder refuses another model. */
  readonly identity: EncoderIdentity;
  readonly dim: number;
  /** Where the vision tower runs: "CPU", "Vulkan0", "CUDA0". */
  readonly device: string;
  /** Whether words can be embedded into the images' space (search by text, zero-shot classes). */
  readonly textSearch: boolean;
  /** Decodes and resizes an image as the model wants it; cheap next to encode(), and safe to run ahead of it. */
  decode(image: Buffer): Promise<DecodedImage>;
  /** A decoded image to its unit vector, as gallery items and image queries are embedded. */
  encode(image: DecodedImage): Promise<Embedding>;
  embed(image: Buffer): Promise<Embedding>;
  /** Frees the model once queued calls have finished. */
  dispose(): Promise<void>;
}

/** An embedder that also embeds words (VlEmbedder). */
export interface TextEmbedder extends Embedder {
  readonly textSearch: true;
  /** Text to a unit vector in the images' space, with the query instruction (or `instruction`). */
  embedText(text: string, instruction?: string): Promise<Float32Array>;
  /** An image and words as one input (the image first, then the text), with the query instruction; absent where the
   * model is not in this process (workers encode queries one kind at a time). */
  embedImageWithText?(image: DecodedImage, text: string): Promise<Float32Array>;
}

export function isTextEmbedder(e: Embedder): e is TextEmbedder {
  return e.textSearch;
}

/** An embedding model as far as the gallery and the decoder need it, without its weights (workers encode). */
export interface ModelDescription {
  identity: EncoderIdentity;
  textSearch: boolean;
  decode(image: Buffer): Promise<DecodedImage>;
}
