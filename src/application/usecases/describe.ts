// "Describe this image": the VL model answers a prompt about an upload (after the earlier turns of a conversation about
// it), text streamed as it is generated. It waits in the same bounded queue as encoding; an aborted signal (the client
// went away) stops the generation.
import { LookalikeError } from '../../core/errors.js';
import type { Admission } from '../../core/util/admission.js';
import { answerFollowUp, type ConversationResult, type HistoryMessage } from '../../engine/vlm/conversation.js';
import type { VisionLanguageModel } from '../../engine/vlm/vision-language-model.js';

/** The limits a describe request is checked against, for the web tier's schema. */
export { MAX_KEPT_TURNS } from '../../engine/vlm/conversation.js';
export { MAX_SEED } from '../../engine/vlm/vision-language-model.js';

export interface DescribeRequest {
  image: Buffer;
  prompt: string;
  /** The earlier turns about this image (follow-up questions); the newest are kept. */
  history?: HistoryMessage[];
  /** Left out: the server's default (LOOKALIKE_DESCRIBE_MAX_TOKENS). */
  maxTokens?: number;
  temperature: number;
  seed?: number;
  signal: AbortSignal;
  onText: (text: string) => void;
}

export class Describe {
  /** `vlm`: the Instruct VL model, or null when none is loaded (every call answers 409 no_text_model). `demoModel`: it
   *  is the demo's (LOOKALIKE_TEXT_MODEL=demo), whose answers the route marks as such. */
  constructor(
    private readonly vlm: VisionLanguageModel | null,
    private readonly admission: Admission,
    private readonly defaultMaxTokens: number,
    readonly demoModel = false,
  ) {}

  get available(): boolean {
    return this.vlm !== null;
  }

  /** Refuses before an upload is read when there is no model to answer. */
  model(): VisionLanguageModel {
    if (!this.vlm)
      throw new LookalikeError(
        'no_text_model',
        'describe needs the full VL model: this server has no text model (set LOOKALIKE_TEXT_MODEL, see README)',
      );
    return this.vlm;
  }

  async run(req: DescribeRequest): Promise<ConversationResult> {
    const vlm = this.model();
    const decoded = await vlm.decode(req.image);
    return this.admission.run(() =>
      answerFollowUp(vlm, decoded, req.history ?? [], req.prompt, {
        maxTokens: req.maxTokens ?? this.defaultMaxTokens,
        temperature: req.temperature,
        seed: req.seed,
        signal: req.signal,
        onText: req.onText,
      }),
    );
  }
}
