// Follow-up questions about one image: the client sends the earlier turns with the new question, and the model sees
// them as a chat in its own template, the image in the first kept question. A turn is a question and its answer; at
// most MAX_KEPT_TURNS are kept, the oldest dropped first. A conversation too long for the context is refused (400
// prompt_too_long) rather than cut further: what the model saw stays what the client can tell from `droppedTurns`.
import type { DecodedImage } from '../image/decode.js';
import {
  ContextOverflowError,
  type ChatMessage,
  type GenerateOptions,
  type GenerateResult,
  type VisionLanguageModel,
} from './vision-language-model.js';

/** Turns kept, as the method lookalike follows advises. */
export const MAX_KEPT_TURNS = 5;
/** One message of a conversation: a question (user) or an answer (assistant). */
export interface HistoryMessage {
  role: 'user' | 'assistant';
  text: string;
}

/** The newest MAX_KEPT_TURNS turns (question and answer pairs) of a history, and how many older ones were dropped. */
export function keepRecent(history: HistoryMessage[]): { kept: HistoryMessage[]; droppedTurns: number } {
  const droppedTurns = Math.max(0, history.length / 2 - MAX_KEPT_TURNS);
  return { kept: history.slice(droppedTurns * 2), droppedTurns };
}

/**
 * The chat: the kept turns, then the new question; the image goes with the first question. Every text is plain text.
 */
export function conversationChat(kept: HistoryMessage[], question: string, marker: string): ChatMessage[] {
  const messages: ChatMessage[] = kept.map((m) => ({ role: m.role, content: [m.text] }));
  messages.push({ role: 'user', content: [question] });
  messages[0]!.content.unshift({ template: `${marker}\n` });
  return messages;
}

export type ConversationResult = GenerateResult & { keptTurns: number; droppedTurns: number };

/** Answers `question` about `image` after the earlier turns (see the top of this file). */
export async function answerFollowUp(
  vlm: VisionLanguageModel,
  image: DecodedImage,
  history: HistoryMessage[],
  question: string,
  opts: GenerateOptions,
): Promise<ConversationResult> {
  const { kept, droppedTurns } = keepRecent(history);
  try {
    const result = await vlm.generateChat(conversationChat(kept, question, vlm.info.marker), [image], opts);
    return { ...result, keptTurns: kept.length / 2, droppedTurns };
  } catch (err) {
    if (err instanceof ContextOverflowError && kept.length) {
      throw new ContextOverflowError(
        `the conversation (${kept.length / 2} earlier turns kept of ${history.length / 2}, the image and the ` +
          `question) does not fit the context: ` +
          `${err.message}; send fewer or shorter turns, ask for fewer maxTokens, or raise LOOKALIKE_CONTEXT`,
      );
    }
    throw err;
  }
}
