// Few-shot classification with the VL model: one prompt holds, for each candidate class, a few labelled example
// images (the class's nearest gallery neighbours of the query), then the new image, and asks which class it shows.
// The answer is read from the logits of the class names' tokens, never parsed from generated text.
//
// How the class-name tokens become probabilities: the names form a tree of their tokens. Where names part ways (the
// first token, when it differs), one model call gives the logits of each branch's next token after the prompt (and
// the shared start of the answer, when there is one); a softmax over those branches splits the mass, and a branch
// holding several names is split again further down. So classes that share a first token ("shirt", "sneaker",
// "sandal" start with the same "s" in a byte-level vocabulary) are told apart by their next token, at one more call
// per parting point; distinct first tokens need one call in all. A name that ends where another goes on ("coat",
// "coats") competes through the end-of-turn token. The probabilities sum to 1 over the classes by construction.
import { FewShotLimitError, LookalikeError } from '../../core/errors.js';
import type { DecodedImage } from '../image/decode.js';
import {
  ContextOverflowError,
  type ChatContent,
  type ChatMessage,
  type VisionLanguageModel,
} from './vision-language-model.js';

/** Examples per class when a request does not say. */
export const DEFAULT_FEWSHOT_EXAMPLES = 3;

export interface FewShotLimits {
  maxClasses: number;
  maxExamples: number;
}

/** The candidate classes and examples per class a request asks for, checked against the limits before any work. */
export function checkFewShotRequest(classes: string[] | undefined, examples: number, limits: FewShotLimits): void {
  if (classes && classes.length > limits.maxClasses) {
    throw new FewShotLimitError(
      'too_many_classes',
      `${classes.length} few-shot classes were given; at most ${limits.maxClasses} fit in one prompt ` +
        `(LOOKALIKE_FEWSHOT_MAX_CLASSES)`,
    );
  }
  if (examples > limits.maxExamples) {
    throw new FewShotLimitError(
      'too_many_examples',
      `${examples} examples per class were asked; at most ${limits.maxExamples} (LOOKALIKE_FEWSHOT_MAX_EXAMPLES)`,
    );
  }
}

export interface FewShotClass {
  label: string;
  examples: DecodedImage[];
}

/** Where the examples come from: the gallery's nearest images of one class to the query, and an image's pixels. */
export interface ExampleSource {
  /** The labels with at least one image, most likely first (the KNN vote's order, then the rest). */
  labels(): string[];
  nearest(label: string, k: number): Promise<number[]>;
  load(id: number): Promise<DecodedImage>;
}

/**
 * The candidate classes with their examples: the given classes (each must have images), else the first `maxClasses`
 * labels of the source. At least 2: among one class there is nothing to choose.
 */
export async function pickExamples(
  source: ExampleSource,
  given: string[] | undefined,
  examples: number,
  limits: FewShotLimits,
): Promise<FewShotClass[]> {
  const known = source.labels();
  if (given) {
    const missing = given.filter((l) => !known.includes(l));
    if (missing.length)
      throw new LookalikeError(
        'invalid_request',
        `few-shot classes without labelled images in the gallery: ${missing.map((l) => JSON.stringify(l)).join(', ')}`,
      );
  }
  const labels = given ?? known.slice(0, limits.maxClasses);
  if (labels.length < 2)
    throw new LookalikeError(
      'invalid_request',
      'few-shot needs at least 2 classes with labelled images to choose among',
    );
  const out: FewShotClass[] = [];
  for (const label of labels) {
    const ids = await source.nearest(label, examples);
    out.push({ label, examples: await Promise.all(ids.map((id) => source.load(id))) });
  }
  return out;
}

export const FEWSHOT_INTRO = 'Here are example images, each followed by its class.\n';
export const FEWSHOT_QUESTION = 'Which class does this last image belong to? Answer with the class name only, one of: ';

/**
 * The chat: one user turn with every example image and its class name, class by class in the order given, then the
 * query image and the question. The images go to the markers in this order: examples, then the query. Class names
 * are plain text (a label holding "<|im_start|>" or the media marker stays words).
 */
export function fewShotChat(classes: FewShotClass[], marker: string): ChatMessage[] {
  const content: ChatContent[] = [FEWSHOT_INTRO];
  for (const c of classes)
    for (let i = 0; i < c.examples.length; i++) content.push({ template: `${marker}\n` }, `${c.label}\n`);
  content.push(
    'Now this image:\n',
    { template: `${marker}\n` },
    `${FEWSHOT_QUESTION}${classes.map((c) => c.label).join(', ')}.`,
  );
  return [{ role: 'user', content }];
}

/** The images in the order of the prompt's markers: the examples class by class, then the query. */
export function fewShotImages(classes: FewShotClass[], query: DecodedImage): DecodedImage[] {
  return [...classes.flatMap((c) => c.examples), query];
}

export interface FewShotResult {
  label: string;
  probability: number;
  /** Every candidate class, most probable first; probabilities sum to 1. */
  scores: { label: string; probability: number; examples: number }[];
  /** Model calls it took (one per point where class names part ways). */
  modelCalls: number;
  promptTokens: number;
}

/** Few-shot classification of `query` among `classes` (see the top of this file). */
export async function classifyFewShot(
  vlm: VisionLanguageModel,
  query: DecodedImage,
  classes: FewShotClass[],
): Promise<FewShotResult> {
  const messages = fewShotChat(classes, vlm.info.marker);
  const images = fewShotImages(classes, query);
  const names = await Promise.all(classes.map((c) => vlm.tokenize(c.label, false)));
  const endOfTurn = await vlm.tokenize('<|im_end|>', true);
  const END = endOfTurn.length === 1 ? endOfTurn[0]! : -1;
  const probability = new Array<number>(classes.length).fill(0);
  let modelCalls = 0,
    promptTokens = 0;

  // The text whose plain tokens are the first `depth` tokens of class `m`'s name; null when they end inside a
  // character.
  const prefixText = async (m: number, depth: number): Promise<string | null> => {
    const chars = Array.from(classes[m]!.label);
    for (let j = 0; j <= chars.length; j++) {
      const toks = await vlm.tokenize(chars.slice(0, j).join(''), false);
      if (toks.length === depth && toks.every((t, i) => t === names[m]![i])) return chars.slice(0, j).join('');
      if (toks.length > depth) break;
    }
    return null;
  };

  const split = async (members: number[], depth: number, mass: number): Promise<void> => {
    if (members.length === 1) {
      probability[members[0]!]! += mass;
      return;
    }
    const branches = new Map<number, number[]>();
    for (const m of members) {
      const token = depth < names[m]!.length ? names[m]![depth]! : END;
      branches.set(token, [...(branches.get(token) ?? []), m]);
    }
    if (branches.size === 1) return split(members, depth + 1, mass); // no choice here: walk on along the shared token
    const prefix = depth === 0 ? '' : await prefixText(members[0]!, depth);
    if (prefix === null || branches.has(-1)) {
      // the parting point cannot be written as text (a character split over tokens) or the model has no end-of-turn
      // token: these classes share their mass evenly
      for (const m of members) probability[m]! += mass / members.length;
      return;
    }
    const tokens = [...branches.keys()];
    let result;
    try {
      result = await vlm.scoreChat(messages, images, Int32Array.from(tokens), prefix);
    } catch (err) {
      if (err instanceof ContextOverflowError) {
        throw new ContextOverflowError(
          `the few-shot prompt (${classes.length} classes, ${images.length - 1} examples and the image) does not ` +
            `fit the context: ` +
            `${err.message}; ask for fewer classes or examples, or raise LOOKALIKE_CONTEXT`,
        );
      }
      throw err;
    }
    modelCalls++;
    // the first call's: the prompt without an answer's start, or with the shortest one
    promptTokens ||= result.nPromptTokens;
    const top = Math.max(...result.logits);
    const weights = Array.from(result.logits, (l) => Math.exp(l - top));
    const total = weights.reduce((s, w) => s + w, 0);
    for (const [i, token] of tokens.entries())
      await split(branches.get(token)!, depth + 1, (mass * weights[i]!) / total);
  };
  await split(
    classes.map((_, i) => i),
    0,
    1,
  );

  const scores = classes
    .map((c, i) => ({ label: c.label, probability: probability[i]!, examples: c.examples.length }))
    .sort((a, b) => b.probability - a.probability);
  return { label: scores[0]!.label, probability: scores[0]!.probability, scores, modelCalls, promptTokens };
}
