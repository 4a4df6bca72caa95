// "Describe this image": the VL model answers a prompt about an upload, text streamed as it is generated. It waits in
// the same bounded queue as encoding; an aborted signal (the client went away) stops the generation.
import { LookalikeError } from '../errors.js';
import type { Admission } from '../util/admission.js';
import type { GenerateResult, VisionLanguageModel } from '../vlm/vision-language-model.js';

export interface DescribeRequest {
  image: Buffer;
  prompt: string;
  maxTokens: number;
  temperature: number;
  seed?: number;
  signal: AbortSignal;
  onText: (text: string) => void;
}

export class Describe {
  /** `vlm`: the Instruct VL model, or null when none is loaded (every call answers 409 no_text_model). */
  constructor(private readonly vlm: VisionLanguageModel | null, private readonly admission: Admission) {}

  get available(): boolean { return this.vlm !== null; }

  /** Refuses before an upload is read when there is no model to answer. */
  model(): VisionLanguageModel {
    if (!this.vlm) throw new LookalikeError('no_text_model', 'describe needs the full VL model: this server has no text model (set LOOKALIKE_TEXT_MODEL, see README)');
    return this.vlm;
  }

  async run(req: DescribeRequest): Promise<GenerateResult> {
    const vlm = this.model();
    const decoded = await vlm.decode(req.image);
    return this.admission.run(() => vlm.generate(req.prompt, [decoded], {
      maxTokens: req.maxTokens, temperature: req.temperature, seed: req.seed, signal: req.signal, onText: req.onText,
    }));
  }
}
