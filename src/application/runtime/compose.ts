// How every process (the server, the workers, the command-line scripts) opens the gallery from its configuration:
// once here, so a setting of the index or the trash reaches all of them alike.
import type { Config } from '../../core/config.js';
import type { ModelDescription } from '../../engine/encoder/embedder.js';
import { Gallery, type GalleryOptions } from '../../engine/gallery/gallery.js';

/** The index settings of the configuration (LOOKALIKE_HNSW_M, _EF_SEARCH, _NPROBE, _EXACT_CANDIDATES, _WARM_UP). */
export function indexParams(cfg: Config): GalleryOptions['indexParams'] {
  return {
    hnswM: cfg.LOOKALIKE_HNSW_M,
    efSearch: cfg.LOOKALIKE_EF_SEARCH,
    nprobe: cfg.LOOKALIKE_NPROBE,
    exactCandidates: cfg.LOOKALIKE_EXACT_CANDIDATES,
    warmUp: cfg.LOOKALIKE_WARM_UP === 'on',
  };
}

/** The gallery of `models`' data folder, bound to their embedder, with the configured index and trash. */
export function openGallery(
  cfg: Config,
  models: { description: ModelDescription; dataDir: string },
  opts: Pick<GalleryOptions, 'readOnly' | 'switchModel' | 'log'> = {},
): Promise<Gallery> {
  return Gallery.open({
    dataDir: models.dataDir,
    identity: models.description.identity,
    indexKind: cfg.LOOKALIKE_INDEX_KIND,
    indexParams: indexParams(cfg),
    trashDays: cfg.LOOKALIKE_TRASH_DAYS,
    ...opts,
  });
}
