// Which class an uploaded photo belongs to: weighted KNN over the labelled gallery, and zero-shot over class names
// (with an embedder that embeds words), the linear probe trained on the labelled gallery, and the rule that says which
// answer to trust.
import { TextSearchUnavailableError, TooManyNewLabelsError } from '../../core/errors.js';
import type { Gallery } from '../../engine/gallery/gallery.js';
import type { KnnOptions, KnnResult } from '../../engine/knn/knn.js';
import type { ProbeAnswer } from '../../engine/knn/probe.js';
import type { ProbeKeeper } from '../../engine/knn/probe-keeper.js';
import { LabelVectors, trustedAnswer, trustedResult, zeroShot } from '../../engine/knn/zero-shot.js';
import type { TrustedResult, ZeroShotResult } from '../../engine/knn/zero-shot.js';
import type { FewShot, FewShotAnswer, FewShotRequest } from './few-shot.js';
import type { QueryEncoder } from './query-encoder.js';

export interface ClassifyRequest {
  image: Buffer;
  k?: number;
  /** Zero-shot classes given with the request; default: the gallery's labels (with a text embedder). */
  labels?: string[];
  /** With the VL model: also ask it, shown labelled examples of each candidate class (`method=fewshot`). */
  fewShot?: FewShotRequest;
  /** Aborted when nobody waits for the answer any more: label embedding stops (LabelsStoppedError). */
  signal?: AbortSignal;
}

export interface ClassifyAnswer {
  knn: KnnResult;
  zeroShot?: ZeroShotResult;
  /** Null until a probe is trained (at least 2 labelled classes). */
  probe: ProbeAnswer | null;
  fewShot?: FewShotAnswer;
  trusted: 'knn' | 'probe' | 'zero-shot' | null;
  /** The trusted method's answer, unknown when the image is far from every labelled one; null with no answer. */
  answer: TrustedResult | null;
  /** Labels embedded for this request (each a text encode). */
  embeddedLabels: number;
}

type ClassifyOptions = Pick<ClassifyRequest, 'k' | 'labels' | 'signal'>;
/** What classify answers without few-shot: what search's `classify` adds. */
export type Classification = Omit<ClassifyAnswer, 'fewShot'>;

/** Thrown when the request's signal stops the embedding of new zero-shot labels (the client went away). */
export { LabelsStoppedError } from '../../engine/knn/zero-shot.js';

export interface ZeroShotSettings {
  template: string;
  temperature: number;
  minProbability: number;
  maxNewLabels: number;
}

export class Classify {
  /** Zero-shot class names embedded as text, cached: with a text-capable embedder only. */
  readonly labelVectors: LabelVectors | null;

  constructor(
    private readonly gallery: Gallery,
    private readonly encoder: QueryEncoder,
    readonly probe: ProbeKeeper,
    private readonly fewShot: FewShot,
    private readonly knn: KnnOptions,
    private readonly zs: ZeroShotSettings,
  ) {
    this.labelVectors = encoder.embedder.textSearch ? new LabelVectors(encoder.words(), zs.template) : null;
  }

  async run(req: ClassifyRequest): Promise<ClassifyAnswer> {
    const labelVectors = req.labels ? this.requireLabelVectors() : this.labelVectors;
    if (req.fewShot) this.fewShot.check(req.fewShot);
    // each new label costs a text encode, so a request brings a bounded number (refused before any work)
    const fresh = req.labels && labelVectors ? labelVectors.missing(req.labels) : 0;
    if (fresh > this.zs.maxNewLabels) {
      throw new TooManyNewLabelsError(
        `${fresh} of these labels are not embedded yet, and a request may bring at most ${this.zs.maxNewLabels} ` +
          '(LOOKALIKE_ZEROSHOT_MAX_NEW_LABELS): send them in smaller requests first; embedded labels are kept, and ' +
          'then all of them fit in one',
      );
    }
    const { vector, upload } = await this.encoder.query(req.image);
    const answer = await this.ofVector(vector, req);
    const fewShotRequest = req.fewShot;
    const image = { image: req.image, sha256: upload.sha256, vector };
    const fewShot =
      fewShotRequest &&
      (await this.encoder.admission.run(() => this.fewShot.answer(fewShotRequest, image, answer.knn)));
    return { ...answer, fewShot };
  }

  /** KNN, zero-shot and the probe on an encoded image, and the answer to go by (search's `classify` asks this too). */
  async ofVector(vector: Float32Array, req: ClassifyOptions = {}): Promise<Classification> {
    const labelVectors = req.labels ? this.requireLabelVectors() : this.labelVectors;
    const knn = await this.gallery.classify(vector, { ...this.knn, k: req.k ?? this.knn.k });
    const labels = req.labels ?? (labelVectors ? this.gallery.labels().map((l) => l.label) : []);
    let zs: ZeroShotResult | undefined;
    let embeddedLabels = 0;
    if (labelVectors && labels.length >= 2) {
      const { vectors, embedded } = await this.encoder.admission.run(() => labelVectors.of(labels, req.signal));
      embeddedLabels = embedded;
      zs = zeroShot(vector, labels, vectors, {
        temperature: this.zs.temperature,
        minProbability: this.zs.minProbability,
      });
    }
    const labelled = this.gallery.counts().labelled > 0;
    const probe = this.probe.predict(vector);
    const trusted = trustedAnswer(labelled ? knn : null, zs ?? null, probe);
    const answer = trustedResult(trusted, knn, zs ?? null, probe, { ...this.knn, galleryLabels: !req.labels });
    return { knn, zeroShot: zs, probe, trusted, answer, embeddedLabels };
  }

  private requireLabelVectors(): LabelVectors {
    if (!this.labelVectors) throw new TextSearchUnavailableError();
    return this.labelVectors;
  }
}
