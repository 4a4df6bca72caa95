// Captions for search: what the Instruct model says of a picture (the describe prompt, in each language asked for)
// and the words written in it (the reading prompt), greedy, so the same model says the same of the same picture.
import type { DecodedImage } from '../image/decode.js';
import type { VisionLanguageModel } from './vision-language-model.js';

/** The reading prompt (the demo model is trained on exactly this text). */
export const READ_PROMPT = 'Read the words written in this image. Answer with the words only, or "none".';
export const CAPTION_PROMPTS = { en: 'Describe this image.', zh: '请用中文描述这张图片' } as const;
export type CaptionLanguage = keyof typeof CAPTION_PROMPTS;
/** Captions and readings are short: a bound, so a model that rambles costs little. */
const CAPTION_MAX_TOKENS = 64;

/** The caption (one line per language) and the words the picture shows ('' when the model answers "none"). */
export async function captionImage(
  vlm: VisionLanguageModel,
  image: DecodedImage,
  languages: CaptionLanguage[],
): Promise<{ caption: string; words: string }> {
  const say = async (prompt: string) =>
    (await vlm.generate(prompt, [image], { maxTokens: CAPTION_MAX_TOKENS, temperature: 0 })).text.trim();
  const lines: string[] = [];
  for (const language of languages) lines.push(await say(CAPTION_PROMPTS[language]));
  const read = await say(READ_PROMPT);
  return { caption: lines.join('\n'), words: /^"?none"?\.?$/i.test(read) ? '' : read };
}
