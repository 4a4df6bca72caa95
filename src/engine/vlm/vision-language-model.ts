// VisionLanguageModel: the full Qwen3-VL (text GGUF + mmproj) through src/engine/native's VlModel. Yes/no scoring from
// logits (re-ranking), streamed generation (describe), and the vision tower for embeddings, so search and generation
// share one copy of the mmproj. Every call is serialised per model and runs off the event loop.
import { createHash, randomInt } from 'node:crypto';
import { flashAttentionFor } from '../accel/acceleration.js';
import { physicalCores } from '../../core/util/cpu.js';
import { settingDefault } from '../../core/config.js';
import {
  loadNative,
  nativeCode,
  type NativeImage,
  type NativeVlInfo,
  type NativeVlModel,
  type PromptPart,
} from '../native/binding.js';
import { decodeForEncoder, type DecodedImage } from '../image/decode.js';
import { inspectMmproj, sizeLimits, tokenLimits, type MmprojInfo } from '../gguf/mmproj.js';
import type { EncoderBackend } from '../native/vision-backend.js';
import { LookalikeError } from '../../core/errors.js';
import { SerialQueue } from '../../core/util/serial-queue.js';
import { checkLora, checkRole, inspectTextModel, type TextModelInfo, type TextModelRole } from '../gguf/text-model.js';

export interface VlOptions {
  /** What the text GGUF is for (default generate): its file is checked for that role, and the context set up for it. */
  role?: TextModelRole;
  threads?: number;
  /**
   * Text layers on the GPU (with their KV cache); negative: all. 0 unless a GPU backend is loaded (src/engine/accel).
   */
  gpuLayers?: number;
  /** The vision tower on the GPU. */
  useGpu?: boolean;
  nCtx?: number;
  minTokens?: number;
  maxTokens?: number;
  maxInputPixels?: number;
  loraPath?: string;
  loraScale?: number;
}

export class ContextOverflowError extends LookalikeError {
  constructor(message: string) {
    super('prompt_too_long', message);
  }
}

/**
 * The largest seed: llama.cpp reads 2^32 - 1 as "pick a random one", which would break "the same seed, the same text".
 */
export const MAX_SEED = 2 ** 32 - 2;
/** Candidates one judge call decodes side by side (the native context holds a sequence for each); more take turns. */
export const MAX_SCORE_BATCH = 16;

export interface GenerateOptions {
  maxTokens: number;
  /** 0 (default): greedy. Above 0: sampled (top-k 40, top-p 0.95) at this temperature. */
  temperature?: number;
  /** The sampler's seed (0..MAX_SEED) when temperature > 0; left out, a random one, reported in the result. */
  seed?: number;
  signal?: AbortSignal;
  onText?: (text: string) => void;
}

/**
 * One message of a chat: its content in pieces, each plain text (a user's words, a class name, an earlier answer: it
 * can never become control tokens or an image) or `{ template }`, text of the template's own kind (control tokens
 * parsed; the media marker, info.marker, places the next image).
 */
export type ChatContent = string | { template: string };
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: ChatContent[];
}

export interface GenerateResult {
  text: string;
  nTokens: number;
  nPromptTokens: number;
  stop: 'eos' | 'length' | 'cancelled';
  seed?: number;
}

// The content id lets the native side reuse an image's vision-tower output (the re-rank query, for every candidate).
const toNative = (img: DecodedImage): NativeImage => ({
  rgb: img.rgb,
  width: img.width,
  height: img.height,
  id: `${createHash('sha256').update(img.rgb).digest('hex')}:${img.width}x${img.height}`,
});

/** Drops empty parts and joins neighbours of the same kind, so that plain text is tokenized as one piece. */
export function joinParts(parts: PromptPart[]): PromptPart[] {
  const out: PromptPart[] = [];
  for (const p of parts) {
    if (!p.text) continue;
    const last = out.at(-1);
    if (last && last.special === p.special) last.text += p.text;
    else out.push({ ...p });
  }
  return out;
}

/**
 * Cuts a prompt before its last image marker: the start that prompts about several candidates share (the query), and
 * the rest that each candidate repeats with its own image. The tokens of the two halves, put together, are those of
 * the whole: the marker becomes an image chunk of its own either way.
 */
export function splitAtLastImage(parts: PromptPart[], marker: string): { prefix: PromptPart[]; suffix: PromptPart[] } {
  const at = parts.findLastIndex((p) => p.special && p.text.includes(marker));
  if (at < 0) throw new Error('the prompt has no image marker to split at');
  const cut = parts[at]!.text.lastIndexOf(marker);
  return {
    prefix: joinParts([...parts.slice(0, at), { text: parts[at]!.text.slice(0, cut), special: true }]),
    suffix: joinParts([{ text: parts[at]!.text.slice(cut), special: true }, ...parts.slice(at + 1)]),
  };
}

export class VisionLanguageModel {
  private readonly queue = new SerialQueue();
  private disposed = false;
  private readonly yesNo: { yes: number[]; no: number[] };
  /** Something about the model files worth a line in the log (an Instruct GGUF loaded as an embedding model). */
  warning: string | null = null;

  private constructor(
    private readonly native: NativeVlModel,
    readonly info: NativeVlInfo,
    readonly text: TextModelInfo,
    readonly mmproj: MmprojInfo,
    readonly mmprojPath: string,
    readonly minTokens: number,
    readonly maxTokens: number,
    private readonly maxInputPixels: number,
  ) {
    // first token of each spelling: P(yes) is read from these logits, nothing is parsed from text
    const first = (w: string) => native.tokenize(w, false)[0]!;
    this.yesNo = { yes: [...new Set(['yes', 'Yes'].map(first))], no: [...new Set(['no', 'No'].map(first))] };
  }

  static async load(textPath: string, mmprojPath: string, opts: VlOptions = {}): Promise<VisionLanguageModel> {
    const mmproj = inspectMmproj(mmprojPath);
    const text = inspectTextModel(textPath, mmproj);
    const { warning } = checkRole(textPath, text, opts.role ?? 'generate');
    if (opts.loraPath) checkLora(opts.loraPath, text);
    const { minTokens, maxTokens } = tokenLimits(mmproj, opts.minTokens, opts.maxTokens);
    const nCtx = opts.nCtx ?? Math.min(text.contextLength, settingDefault('LOOKALIKE_CONTEXT'));
    const native = new (loadNative().VlModel)();
    await native.load(textPath, mmprojPath, {
      loraPath: opts.loraPath,
      loraScale: opts.loraScale ?? settingDefault('LOOKALIKE_LORA_SCALE'),
      nCtx,
      threads: opts.threads ?? physicalCores(),
      minTokens,
      maxTokens,
      gpuLayers: opts.gpuLayers ?? 0,
      maxBatch: MAX_SCORE_BATCH,
      useGpu: opts.useGpu ?? false,
      flashAttn: flashAttentionFor(opts.useGpu ?? false),
      mode: opts.role ?? 'generate',
    });
    const vlm = new VisionLanguageModel(
      native,
      native.info(),
      text,
      mmproj,
      mmprojPath,
      minTokens,
      maxTokens,
      opts.maxInputPixels ?? settingDefault('LOOKALIKE_MAX_PIXELS'),
    );
    vlm.warning = warning;
    return vlm;
  }

  /** Decodes an image to the size the vision tower takes (the same as VisionEncoder.decode with these limits). */
  decode(image: Buffer): Promise<DecodedImage> {
    return decodeForEncoder(image, sizeLimits(this.mmproj, this.minTokens, this.maxTokens), {
      maxInputPixels: this.maxInputPixels,
    });
  }

  /** The prompt chatPrompt() builds, as the model will see it (for tests and benchmarks). */
  prompt(question: string, images: number, system?: string, separator = '\n'): Promise<PromptPart[]> {
    return this.run(async () => this.chatPrompt(question, images, system, separator));
  }

  /** Tokens of a text as the prompt holds it: plain (user text) or with special tokens parsed (template text). */
  tokenize(text: string, special: boolean): Promise<Int32Array> {
    return this.run(async () => this.native.tokenize(text, special));
  }

  /** P("yes") against P("no") for the next token after the prompt, from the logits. */
  async probabilityYes(question: string, images: DecodedImage[]): Promise<number> {
    const { logits } = await this.run(() =>
      this.native.score(this.chatPrompt(question, images.length), images.map(toNative), this.yesNoIds()),
    );
    return this.yesFrom(logits);
  }

  /**
   * probabilityYes(question, [shared, candidate]) for each candidate, in one batched call: the prompt's start up to
   * the candidate's image is evaluated once, and the candidates are decoded side by side.
   */
  async probabilityYesBatch(question: string, shared: DecodedImage, candidates: DecodedImage[]): Promise<number[]> {
    if (candidates.length === 0) return [];
    const { outputs } = await this.run(() => {
      const { prefix, suffix } = splitAtLastImage(this.chatPrompt(question, 2), this.info.marker);
      return this.native.scoreBatch(
        prefix,
        [toNative(shared)],
        candidates.map((c) => ({ prompt: suffix, images: [toNative(c)] })),
        this.yesNoIds(),
      );
    });
    return outputs.map((logits) => this.yesFrom(logits));
  }

  /**
   * A rank-mode model's classifier outputs for `prompt` (whose last image marker is the candidate's, the others take
   * `shared`), for each candidate: embedPrompt(prompt, [...shared, candidate]) for each, in one batched call.
   */
  async embedPromptBatch(
    prompt: PromptPart[],
    shared: DecodedImage[],
    candidates: DecodedImage[],
  ): Promise<Float32Array[]> {
    if (this.info.mode !== 'rank') throw new Error('embedPromptBatch needs a reranker (a model loaded with role rank)');
    if (candidates.length === 0) return [];
    const { prefix, suffix } = splitAtLastImage(prompt, this.info.marker);
    const { outputs } = await this.run(() =>
      this.native.scoreBatch(
        prefix,
        shared.map(toNative),
        candidates.map((c) => ({ prompt: suffix, images: [toNative(c)] })),
        new Int32Array(),
      ),
    );
    return outputs;
  }

  /** An embed- or rank-mode model's output for a prompt: the last token's hidden state, or the classifier's outputs. */
  async embedPrompt(prompt: PromptPart[], images: DecodedImage[]): Promise<Float32Array> {
    const { data } = await this.run(() => this.native.embedPrompt(prompt, images.map(toNative)));
    return data;
  }

  /** An embed-mode model's output for a chat of the model's template (see chatPrompt) with these images. */
  async embedChat(question: string, images: DecodedImage[], system?: string, separator = '\n'): Promise<Float32Array> {
    const { data } = await this.run(() =>
      this.native.embedPrompt(this.chatPrompt(question, images.length, system, separator), images.map(toNative)),
    );
    return data;
  }

  /** Generates an answer about the images, streaming text through onText; an aborted signal stops it. */
  generate(question: string, images: DecodedImage[], opts: GenerateOptions): Promise<GenerateResult> {
    return this.generateChat([this.userTurn(question, images.length)], images, opts);
  }

  /** The prompt of a chat (then the assistant's turn begins), as the model will see it (for tests and benchmarks). */
  chat(messages: ChatMessage[]): Promise<PromptPart[]> {
    return this.run(async () => this.chatParts(messages));
  }

  /**
   * The logits of `tokenIds` for the next token after a chat and the start of the assistant's answer
   * (`answerPrefix`, plain text): how likely each is to come next. The images go to the media markers in order.
   */
  scoreChat(
    messages: ChatMessage[],
    images: DecodedImage[],
    tokenIds: Int32Array,
    answerPrefix = '',
  ): Promise<{ logits: Float32Array; nPromptTokens: number }> {
    return this.run(() =>
      this.native.score(
        joinParts([...this.chatParts(messages), { text: answerPrefix, special: false }]),
        images.map(toNative),
        tokenIds,
      ),
    );
  }

  /** Generates the assistant's next answer in a chat (see generate). */
  async generateChat(messages: ChatMessage[], images: DecodedImage[], opts: GenerateOptions): Promise<GenerateResult> {
    const temperature = opts.temperature ?? 0;
    // checked here, before native code: a bad value there would sample from NaN logits or an unseeded generator
    if (!Number.isFinite(temperature) || temperature < 0)
      throw new RangeError(`temperature must be a finite number >= 0, not ${temperature}`);
    if (opts.seed !== undefined && !(Number.isInteger(opts.seed) && opts.seed >= 0 && opts.seed <= MAX_SEED))
      throw new RangeError(`seed must be an integer in 0..${MAX_SEED}, not ${opts.seed}`);
    const seed = temperature > 0 ? (opts.seed ?? randomInt(MAX_SEED + 1)) : undefined;
    return this.run(async () => {
      if (opts.signal?.aborted) return { text: '', nTokens: 0, nPromptTokens: 0, stop: 'cancelled' as const, seed };
      const stop = () => this.native.cancel();
      opts.signal?.addEventListener('abort', stop, { once: true });
      try {
        const result = await this.native.generate(
          this.chatParts(messages),
          images.map(toNative),
          { maxTokens: opts.maxTokens, temperature, seed: seed ?? 0 },
          opts.onText ?? (() => {}),
        );
        return { ...result, seed };
      } finally {
        opts.signal?.removeEventListener('abort', stop);
      }
    });
  }

  /** The vision tower through this model's mtmd context, for VisionEncoder.withBackend(). */
  /** Text layers on the GPU, as libllama reported at load. */
  get layersOnGpu(): number {
    return this.info.layersOnGpu;
  }

  encoderBackend(): EncoderBackend {
    return {
      device: this.info.visionDevice,
      encode: (rgb, width, height) => this.run(() => this.native.embed([{ rgb, width, height }])),
      dispose: () => {}, // the VL model owns the context
    };
  }

  dispose(): Promise<void> {
    return this.queue.run(async () => {
      if (this.disposed) return;
      this.disposed = true;
      this.native.dispose();
    });
  }

  /** A user's turn: `images` image markers (each followed by `separator`), then the question as plain text. */
  private userTurn(question: string, images: number, separator = '\n'): ChatMessage {
    return { role: 'user', content: [{ template: `${this.info.marker}${separator}`.repeat(images) }, question] };
  }

  /**
   * A chat in the model's own template: an optional system turn, then a user turn with `images` image markers (each
   * followed by `separator`) before `question`, then the assistant's turn begins (see chatParts).
   */
  private chatPrompt(question: string, images: number, system?: string, separator = '\n'): PromptPart[] {
    return this.chatParts([
      ...(system !== undefined ? [{ role: 'system' as const, content: [system] }] : []),
      this.userTurn(question, images, separator),
    ]);
  }

  /**
   * Messages in the model's own template, then the assistant's turn begins. The template's own text keeps its special
   * tokens; every plain piece (system text, questions, earlier answers, class names) stays plain text: a user typing
   * "<|im_start|>" or the media marker changes nothing. It calls into the native model: only inside run(), like every
   * native call.
   */
  private chatParts(messages: ChatMessage[]): PromptPart[] {
    // each plain piece goes through the template as a placeholder of private-use characters (no template produces them)
    const plain: string[] = [];
    const holder = (i: number) => `\uE000lookalike text ${i}\uE000`;
    const templated = this.native.applyTemplate(
      messages.map((m) => ({
        role: m.role,
        content: m.content.map((c) => (typeof c === 'string' ? holder(plain.push(c) - 1) : c.template)).join(''),
      })),
      true,
    );
    const pieces = templated.split(/(\uE000lookalike text \d+\uE000)/);
    const seen = pieces.map((p) => /^\uE000lookalike text (\d+)\uE000$/.exec(p)?.[1]).filter((i) => i !== undefined);
    if (seen.length !== plain.length || new Set(seen).size !== plain.length) {
      throw new Error('the chat template did not keep each plain text in one place');
    }
    return joinParts(
      pieces.map((p) => {
        const i = /^\uE000lookalike text (\d+)\uE000$/.exec(p)?.[1];
        return i !== undefined ? { text: plain[Number(i)]!, special: false } : { text: p, special: true };
      }),
    );
  }

  private yesNoIds(): Int32Array {
    return Int32Array.from([...this.yesNo.yes, ...this.yesNo.no]);
  }

  /** The "yes" tokens' share of the probability mass of the yes and no tokens (logits in yesNoIds() order). */
  private yesFrom(logits: Float32Array): number {
    const max = Math.max(...logits);
    const mass = (from: number, to: number) =>
      Array.from(logits.subarray(from, to)).reduce((s, l) => s + Math.exp(l - max), 0);
    const yes = mass(0, this.yesNo.yes.length);
    return yes / (yes + mass(this.yesNo.yes.length, logits.length));
  }

  private run<T>(task: () => Promise<T>): Promise<T> {
    return this.queue.run(async () => {
      if (this.disposed) throw new Error('VisionLanguageModel was disposed');
      try {
        return await task();
      } catch (err) {
        if (nativeCode(err) === 'context_overflow') throw new ContextOverflowError((err as Error).message);
        throw err;
      }
    });
  }
}
