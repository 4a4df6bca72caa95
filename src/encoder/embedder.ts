// What the gallery, the builder and the API need from an embedding model, whichever it is: the Instruct model's vision
// tower (VisionEncoder, images only) or Qwen3-VL-Embedding (VlEmbedder, images and text in one space).
import type { DecodedImage } from './image.js';

/** mean: the mean over image tokens of the main projector slice (what the language model sees).
 *  mean-deepstack: the same over the full width, main slice followed by every deepstack slice.
 *  last-token: an embedding model's hidden state at the last token of its prompt (VlEmbedder). */
export type Pooling = 'mean' | 'mean-deepstack' | 'last-token';

export interface EncoderIdentity {
  /** Changes whenever the vectors would change: file, pooling, token limits. Stored with every vector. */
  modelId: string;
  fingerprint: string; // sha256 of the mmproj file
  fileName: string;
  projectorType: string;
  dim: number; // width of the returned vectors
  pooling: Pooling;
  minTokens: number;
  maxTokens: number;
  projectionDim: number;
  deepstackLayers: number[];
}

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
  return { vector, nTokens, inputWidth: image.width, inputHeight: image.height, sourceWidth: image.sourceWidth, sourceHeight: image.sourceHeight };
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
