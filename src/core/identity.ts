// Which model made a vector: stored with every vector, so a data folder refuses vectors of another model.
/** mean: the mean over image tokens of the main projector slice (what the language model sees).
 *  mean-deepstack: the same over the full width, main slice followed by every deepstack slice.
 *  last-token: an embedding model's hidden state at the last token of its prompt (VlEmbedder). */
export type Pooling = VisionPooling | 'last-token';
/** The poolings of a vision tower's tokens (LOOKALIKE_POOLING); last-token is the embedding model's own. */
export const VISION_POOLINGS = ['mean', 'mean-deepstack'] as const;
export type VisionPooling = (typeof VISION_POOLINGS)[number];

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
