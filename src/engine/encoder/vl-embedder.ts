// VlEmbedder: Qwen3-VL-Embedding (its text GGUF + mmproj) puts images, words and both into one space, so the gallery
// can be searched by text and classified zero-shot. One input is one chat, as in Qwen's own code: a system turn with
// an instruction, a user turn with the image and/or the text, then the assistant's turn begins; the vector is the
// last token's hidden state after the final norm, L2-normalised, optionally truncated (Matryoshka) to its first dims.
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { settingDefault } from '../../core/config.js';
import { gpuFirstEncode } from '../accel/acceleration.js';
import { LookalikeError } from '../../core/errors.js';
import type { PromptPart } from '../native/binding.js';
import { VisionLanguageModel, type VlOptions } from '../vlm/vision-language-model.js';
import { checkRole, inspectTextModel } from '../gguf/text-model.js';
import { embeddingOf, type Embedding, type ModelDescription, type TextEmbedder } from './embedder.js';
import type { EncoderIdentity } from '../../core/identity.js';
import { fileFingerprint } from './fingerprint.js';
import { decodeForEncoder, type DecodedImage } from '../image/decode.js';
import { inspectMmproj, sizeLimits, tokenLimits } from '../gguf/mmproj.js';
import { l2Normalize } from './vision-encoder.js';

export interface VlEmbedderOptions extends Omit<VlOptions, 'role'> {
  /** Keep the first `dim` dimensions (Matryoshka), then re-normalise; 0: all of them. */
  dim?: number;
  /** The system turn for gallery items and image queries (Qwen's default: "Represent the user's input."). */
  itemInstruction?: string;
  /** The system turn for text queries (Qwen's README: "Retrieve images or text relevant to the user's query."). */
  queryInstruction?: string;
  fingerprintCache?: string;
  /** Where to say that the first encode on a GPU compiles shaders (gpuFirstEncode). */
  log?: (msg: string) => void;
}

/** As Qwen's code does: an instruction that does not end in punctuation gets a full stop. */
export function punctuated(instruction: string): string {
  const t = instruction.trim();
  return t && !/\p{P}$/u.test(t) ? `${t}.` : t;
}

/** The first `dim` values, re-normalised to unit length (all of them when dim is 0 or the full width). */
export function truncate(v: Float32Array, dim: number): Float32Array {
  return l2Normalize(dim > 0 && dim < v.length ? v.slice(0, dim) : v.slice());
}

export class VlEmbedder implements TextEmbedder {
  readonly textSearch = true as const;
  private readonly firstEncode;

  private constructor(
    private readonly vlm: VisionLanguageModel,
    readonly identity: EncoderIdentity,
    private readonly itemInstruction: string,
    private readonly queryInstruction: string,
    log?: (msg: string) => void,
  ) {
    this.firstEncode = gpuFirstEncode(() => this.device, log);
  }

  static async load(textPath: string, mmprojPath: string, opts: VlEmbedderOptions = {}): Promise<VlEmbedder> {
    // checks the files before llama.cpp sees them
    const { identity } = await VlEmbedder.describe(textPath, mmprojPath, opts);
    const vlm = await VisionLanguageModel.load(textPath, mmprojPath, { ...opts, role: 'embed' });
    const item = punctuated(opts.itemInstruction ?? settingDefault('LOOKALIKE_EMBED_ITEM_INSTRUCTION'));
    const query = punctuated(opts.queryInstruction ?? settingDefault('LOOKALIKE_EMBED_QUERY_INSTRUCTION'));
    return new VlEmbedder(vlm, identity, item, query, opts.log);
  }

  /** What the embedder of these files and options would be, without loading them: its identity, and how it decodes. */
  static async describe(textPath: string, mmprojPath: string, opts: VlEmbedderOptions = {}): Promise<ModelDescription> {
    const mmproj = inspectMmproj(mmprojPath);
    const text = inspectTextModel(textPath, mmproj);
    checkRole(textPath, text, 'embed');
    const width = text.embd;
    const dim = opts.dim || width;
    if (!Number.isInteger(dim) || dim < 1 || dim > width) {
      throw new LookalikeError(
        'bad_setting',
        `LOOKALIKE_EMBED_DIM=${opts.dim}: the model's vectors have ${width} dims; keep 1 to ${width} of them (0: all)`,
      );
    }
    const { minTokens, maxTokens } = tokenLimits(mmproj, opts.minTokens, opts.maxTokens);
    const item = punctuated(opts.itemInstruction ?? settingDefault('LOOKALIKE_EMBED_ITEM_INSTRUCTION'));
    const [textFp, mmprojFp] = [
      await fileFingerprint(textPath, opts.fingerprintCache),
      await fileFingerprint(mmprojPath, opts.fingerprintCache),
    ];
    // everything that changes the stored vectors: both files, the width kept, the token limits, the item instruction
    const instructionId = createHash('sha256').update(item).digest('hex').slice(0, 8);
    const identity: EncoderIdentity = {
      modelId:
        `qwen3vl-embedding-${textFp.sha256.slice(0, 12)}-${mmprojFp.sha256.slice(0, 12)}` +
        `-d${dim}-t${minTokens}-${maxTokens}-i${instructionId}`,
      fingerprint: textFp.sha256,
      fileName: basename(textPath),
      projectorType: mmproj.projectorType,
      dim,
      pooling: 'last-token',
      minTokens,
      maxTokens,
      projectionDim: width,
      deepstackLayers: mmproj.deepstackLayers,
    };
    const limits = sizeLimits(mmproj, minTokens, maxTokens);
    const maxInputPixels = opts.maxInputPixels ?? settingDefault('LOOKALIKE_MAX_PIXELS');
    return { identity, textSearch: true, decode: (image) => decodeForEncoder(image, limits, { maxInputPixels }) };
  }

  get dim(): number {
    return this.identity.dim;
  }
  get device(): string {
    return this.vlm.info.visionDevice;
  }
  /** Something about the model file worth a line in the log (an Instruct GGUF given as the embedding model). */
  get warning(): string | null {
    return this.vlm.warning;
  }

  decode(image: Buffer): Promise<DecodedImage> {
    return this.vlm.decode(image);
  }

  /** An image as a gallery item (and as an image query: a picture then finds itself at similarity 1). */
  async encode(image: DecodedImage): Promise<Embedding> {
    // as Qwen's processor lays it out: the image, then (here no) text, nothing between them
    const vector = await this.firstEncode(() => this.vector('', [image], this.itemInstruction));
    return embeddingOf(vector, image);
  }

  async embed(image: Buffer): Promise<Embedding> {
    return this.encode(await this.decode(image));
  }

  /** Words with the query instruction: what search by text and zero-shot labels use. */
  embedText(text: string, instruction = this.queryInstruction): Promise<Float32Array> {
    return this.embedQuery(text, undefined, instruction);
  }

  /** Words, an image, or both in one input (the image first, as Qwen's processor lays it out), with an instruction. */
  embedQuery(text: string, image?: DecodedImage, instruction = this.queryInstruction): Promise<Float32Array> {
    return this.vector(text || (image ? '' : 'NULL'), image ? [image] : [], punctuated(instruction));
  }

  /** "This photo, but at night": one query input, as Qwen3-VL-Embedding is trained for. */
  embedImageWithText(image: DecodedImage, text: string): Promise<Float32Array> {
    return this.embedQuery(text, image);
  }

  /** The prompt exactly as the model sees it, for the fidelity test against llama.cpp's own llama-embedding. */
  textPrompt(text: string, instruction = this.queryInstruction): Promise<PromptPart[]> {
    return this.vlm.prompt(text, 0, punctuated(instruction), '');
  }

  /** How many tokens a text query's prompt takes (its cost grows with them). */
  async textPromptTokens(text: string, instruction = this.queryInstruction): Promise<number> {
    let n = 0;
    for (const p of await this.textPrompt(text, instruction)) n += (await this.vlm.tokenize(p.text, p.special)).length;
    return n;
  }

  /** One chat (the VL model builds its prompt in its own queue: the template is a native call too). */
  private async vector(question: string, images: DecodedImage[], system: string): Promise<Float32Array> {
    return truncate(await this.vlm.embedChat(question, images, system, ''), this.dim);
  }

  dispose(): Promise<void> {
    return this.vlm.dispose();
  }
}
