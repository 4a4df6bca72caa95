// Few-shot classification of an upload (`/api/classify` with `method=fewshot`): candidate classes from the KNN vote
// (or the request), examples from the gallery's nearest labelled images of each class, then the VL model's answer
// (src/engine/vlm/few-shot.ts). The upload itself, when it is in the gallery, is never one of its examples.
import { LookalikeError } from '../../core/errors.js';
import type { Gallery } from '../../engine/gallery/gallery.js';
import type { KnnResult } from '../../engine/knn/knn.js';
import {
  checkFewShotRequest,
  classifyFewShot,
  pickExamples,
  type FewShotLimits,
  type FewShotResult,
} from '../../engine/vlm/few-shot.js';
import type { VisionLanguageModel } from '../../engine/vlm/vision-language-model.js';

/** What a request may leave out, for the web tier's schema. */
export { DEFAULT_FEWSHOT_EXAMPLES } from '../../engine/vlm/few-shot.js';

export interface FewShotRequest {
  classes?: string[];
  examples: number;
}
export type FewShotAnswer = FewShotResult & { tookMs: number; note?: string };

export const DEMO_FEWSHOT_NOTE =
  "the demo text model is tiny and knows only Fashion-MNIST's ten classes: it tells those apart, and no others; " +
  'load a real VL model with LOOKALIKE_TEXT_MODEL';

export class FewShot {
  /**
   * `vlm`: the Instruct VL model, or null (a request answers 409); `demo`: the demo's, which knows ten classes only.
   */
  constructor(
    private readonly vlm: VisionLanguageModel | null,
    private readonly gallery: Gallery,
    private readonly limits: FewShotLimits,
    private readonly demo: boolean,
  ) {}

  /** Before any work: the model is there (409), the classes and examples within the limits (400). */
  check(req: FewShotRequest): VisionLanguageModel {
    if (!this.vlm)
      throw new LookalikeError(
        'no_text_model',
        'few-shot classification needs the full VL model: this server has no text model (set LOOKALIKE_TEXT_MODEL, ' +
          'see README)',
      );
    checkFewShotRequest(req.classes, req.examples, this.limits);
    return this.vlm;
  }

  async answer(
    req: FewShotRequest,
    upload: { image: Buffer; sha256: string; vector: Float32Array },
    knn: KnnResult,
  ): Promise<FewShotAnswer> {
    const vlm = this.check(req);
    const started = performance.now();
    const self = this.gallery.embeddedIdBySha(upload.sha256);
    const voted = knn.votes.map((v) => v.label);
    const source = {
      labels: () => [
        ...voted,
        ...this.gallery
          .labels()
          .map((l) => l.label)
          .filter((l) => !voted.includes(l)),
      ],
      nearest: async (label: string, k: number) =>
        (await this.gallery.search(upload.vector, { k, filter: { label }, excludeId: self })).map((r) => r.id),
      load: async (id: number) => vlm.decode(this.gallery.thumbnail(id)),
    };
    const classes = await pickExamples(source, req.classes, req.examples, this.limits);
    const result = await classifyFewShot(vlm, await vlm.decode(upload.image), classes);
    return { ...result, tookMs: performance.now() - started, note: this.demo ? DEMO_FEWSHOT_NOTE : undefined };
  }
}
