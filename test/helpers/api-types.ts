export interface paths {
    "/api/health": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Ready once model, index and database are loaded; 503 before; degraded (200) while Redis, with LOOKALIKE_REDIS_URL, cannot be reached */
        get: operations["getHealth"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/livez": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Liveness: 200 whenever the process serves HTTP, loading included (restart it only when this fails) */
        get: operations["getLivez"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/readyz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Readiness: 200 once models, index and (in queue mode) Redis are there; else 503 naming what is missing */
        get: operations["getReadyz"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/search": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Most similar gallery images to an uploaded photo, or to words
         * @description multipart fields: image (file) or text (words; needs an embedding model); k (1-100, default 12: results per page); minScore (-1..1); filters: label, folder (path prefix), takenAfter, takenBefore, camera; sort (score, or date within minScore); cursor (the `next` of the page before); classify (true: add the KNN result, same encode); rerank (true: re-order the page with the VL model or the reranker); mode (words: vector, keyword or hybrid). Or a JSON body { "text": "...", "k": 12, ... } with the same fields. The results are exactly the k best images the filters keep. A query of several parts: "positive" and "negative" lists of items {text?, file?, id?, weight?} (a form field holding the JSON list, or arrays in a JSON body); an item's "file" names a multipart file field (up to 8, not "image"); the query vector is the weighted sum of the positives minus the negatives, normalised.
         */
        post: operations["searchImages"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/classify": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Which class an uploaded photo belongs to: weighted KNN over the labelled gallery, and zero-shot over class names
         * @description multipart fields: image (file, required); k (neighbours that vote, default LOOKALIKE_KNN_K); labels (zero-shot classes, repeated or a JSON array, 2 to 1000, of which at most LOOKALIKE_ZEROSHOT_MAX_NEW_LABELS not embedded by an earlier request; needs an embedding model). With an embedding model and no labels, zero-shot uses the gallery's label names (when it has at least 2). method=fewshot (needs a text model: 409 no_text_model) adds `fewShot`: the VL model is shown `examples` (default 3) nearest labelled images of each class, then this one (400 too_many_classes, too_many_examples, prompt_too_long past the limits).
         */
        post: operations["classifyImage"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/images/{id}/similar": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Find similar to a gallery image, from its stored vector (no re-encoding) */
        get: operations["findSimilar"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/images": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The gallery's images, newest first (taken or added), with the filters of search and a cursor for the next page */
        get: operations["listImages"];
        put?: never;
        /**
         * Add an image to the gallery (201); the same content again returns the existing id (200, duplicate: true), and content in the trash is restored (200, restored: true); with workers (LOOKALIKE_REDIS_URL) 202 and a job
         * @description multipart fields: image (file, required); label (optional class name: with content already in the gallery, it relabels it)
         */
        post: operations["addImage"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/jobs/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The state of an add encoded by a worker: waiting, active, done (with the image id) or failed (with why) */
        get: operations["getJob"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/images/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One image record */
        get: operations["getImage"];
        put?: never;
        post?: never;
        /** Move an image to the trash (204): gone from search and listings, restorable for LOOKALIKE_TRASH_DAYS (see /api/trash) */
        delete: operations["deleteImage"];
        options?: never;
        head?: never;
        /** Set or clear (null) an image's label; search filters and classification see it at once */
        patch: operations["relabelImage"];
        trace?: never;
    };
    "/api/images/{id}/thumbnail": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The image thumbnail (WebP, at most 256 px) */
        get: operations["getThumbnail"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/stats": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Counts, labels, index kind, model */
        get: operations["getStats"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/describe": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Answer a prompt about an uploaded image with the VL model, streamed as server-sent events
         * @description multipart fields: image (file, required); prompt (default "Describe this image."); maxTokens (1-2048, default LOOKALIKE_DESCRIBE_MAX_TOKENS); temperature (0-2, default 0: greedy, the same text every time); seed (0-4294967294: with a temperature above 0 the same seed gives the same text; left out, a random one); history (the earlier turns about the same image, a JSON array of {role: user|assistant, text}, alternating from a question to its answer; the newest 5 question-answer turns are kept, the oldest dropped first; the prompt is the new question). Events: `token` {text} as text is generated, then `done` {text, nTokens, nPromptTokens, stop, tookMs, keptTurns, droppedTurns, seed?, note?} (seed: the one sampled with, when temperature > 0; droppedTurns: history turns left out, oldest first), or `error` {code, message}. Errors before the first token are ordinary JSON errors (409 without a text model, 400 prompt_too_long (also when the kept history does not fit the context), 415, 503 busy).
         */
        post: operations["describeImage"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Prometheus metrics: requests, encode times, the admission queue, jobs, gallery and index, the process */
        get: operations["getMetrics"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/duplicates": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Groups of duplicate images around the image to keep: its exact copies, and its near duplicates at the threshold or above; one scan at a time */
        get: operations["findDuplicates"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/duplicates/resolve": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Keep one image of a group and move the others to the trash (or relabel them), in one transaction: all or nothing */
        post: operations["resolveDuplicates"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/thumbnails.zip": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The stored thumbnails of the given images as one ZIP (WebP files named <id>-<name>.webp); the server keeps no originals */
        get: operations["downloadThumbnails"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/trash": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The images in the trash, the last deleted first, with their thumbnails and when each expires */
        get: operations["listTrash"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/trash/{id}/thumbnail": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The thumbnail of an image in the trash (WebP, at most 256 px) */
        get: operations["getTrashThumbnail"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/trash/restore": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Bring images back from the trash with the same id, label, metadata and vector; search finds them at once */
        post: operations["restoreTrash"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/trash/empty": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Delete images in the trash for good */
        post: operations["emptyTrash"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: never;
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    getHealth: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /**
                         * @description degraded: serving, but a part is unreachable (Redis, the job queue): `error` says which, and what is refused
                         * @enum {string}
                         */
                        status: "ready" | "degraded";
                        error?: {
                            code: string;
                            message: string;
                        };
                        demo: boolean;
                        model: {
                            modelId: string;
                            fileName: string;
                            fingerprint: string;
                            projectorType: string;
                            dim: number;
                            pooling: string;
                            minTokens: number;
                            maxTokens: number;
                        };
                        gallery: {
                            images: number;
                            labelled: number;
                        };
                        features: {
                            rerank: boolean;
                            describe: boolean;
                            /** @description words can search the gallery, and classify can answer zero-shot (an embedding model is loaded) */
                            textSearch: boolean;
                        };
                        /** @description a words query whose best score is below this is far from every picture (measured for the demo embedding model; null: not measured) */
                        wordsFloor: number | null;
                        device: {
                            /** @enum {string} */
                            kind: "cpu" | "gpu";
                            /** @description ggml device: CPU, Vulkan0, CUDA0, ... */
                            name: string;
                            /** @description e.g. "Vulkan0 (llvmpipe (LLVM 15.0.6, 256 bits))" or "CPU, 2 threads, ggml zen4 kernels" */
                            description: string;
                            backend: string;
                            /** @description bytes free on the GPU, where ggml reports it (0 when it does not); null on the CPU */
                            memoryFree: number | null;
                            memoryTotal: number | null;
                            /** @description CPU threads per encode and per text-model step */
                            threads: number;
                            /** @description the ggml CPU kernels loaded (libggml-cpu-<variant>.so) */
                            cpuVariant: string | null;
                            /** @description where the vision tower runs, as llama.cpp reported at load: CPU, Vulkan0, CUDA0 */
                            visionTower: string;
                            /** @description text-model layers (of the VL model, when loaded) that llama.cpp offloaded to the GPU */
                            textLayersOnGpu: number | null;
                        };
                    };
                };
            };
            /** @description rate_limited: over `LOOKALIKE_RATE_LIMIT` requests a minute (every route but /livez, /readyz and /metrics, when set) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description not ready: `error` says why, in the same shape as every other error; Retry-After says when to ask again */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        status: "loading" | "error" | "closed";
                        error: {
                            code: string;
                            message: string;
                        };
                        /** @description while the demo gallery is built on the first start: pictures done of all (as the terminal counts) */
                        building?: {
                            done: number;
                            total: number;
                        };
                    };
                };
            };
        };
    };
    getLivez: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        status: "alive";
                    };
                };
            };
        };
    };
    getReadyz: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        status: "ready";
                    };
                };
            };
            /** @description not ready: `missing` names what; Retry-After says when to ask again */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        status: "not_ready";
                        /** @description models: loading; index: the database and vector index opening; startup: a start-up task (the demo gallery's build), or a start that failed; redis: unreachable, with LOOKALIKE_QUERY_ENCODER=queue; shutdown: closing */
                        missing: ("models" | "index" | "startup" | "redis" | "shutdown")[];
                        error: {
                            /** @enum {string} */
                            code: "not_ready";
                            message: string;
                        };
                    };
                };
            };
        };
    };
    searchImages: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "multipart/form-data": {
                    /**
                     * Format: binary
                     * @description the picture, in any format sharp decodes (JPEG, PNG, WebP, GIF, TIFF, AVIF, HEIF, SVG); at most LOOKALIKE_MAX_UPLOAD_MB
                     */
                    image?: string;
                    /** @description only images with this label */
                    label?: string;
                    /** @description only images under this folder: a prefix of their path relative to the indexed folder, whole folder names ("trips/2021") */
                    folder?: string;
                    /** @description only images taken at or after this date (UTC without an offset) */
                    takenAfter?: string;
                    /** @description only images taken before this date (UTC without an offset) */
                    takenBefore?: string;
                    /** @description only images whose camera "make model" contains this, any case ("canon", "iPhone 12") */
                    camera?: string;
                    /** @description the `next` of the page before: the page after it */
                    cursor?: string;
                    /** @description words to search by, instead of an image (needs an embedding model: LOOKALIKE_EMBED_MODEL) */
                    text?: string;
                    /**
                     * @description results per page
                     * @default 12
                     */
                    k?: number;
                    minScore?: number;
                    /**
                     * @description score: best first; date: newest first among all results that reach minScore (needs minScore)
                     * @default score
                     * @enum {string}
                     */
                    sort?: "score" | "date";
                    /**
                     * @default false
                     * @enum {string}
                     */
                    rerank?: "0" | "1" | "true" | "false" | "on";
                    /**
                     * @default false
                     * @enum {string}
                     */
                    classify?: "0" | "1" | "true" | "false" | "on";
                    /**
                     * @description how words are matched: vector (default: the embedding model), keyword (FTS5 bm25 over file paths, labels, captions and the words pictures show; score: bm25) or hybrid (both, fused by reciprocal rank fusion with k = 60; score: the fused one). keyword and hybrid need captions (LOOKALIKE_CAPTIONS=on, or npm run captions), take no minScore nor sort=date, and page over one ranking made on the first page, 1000 deep
                     * @enum {string}
                     */
                    mode?: "vector" | "keyword" | "hybrid";
                    /** @description what to search for: a JSON list of items {text?, file?, id?, weight?} (weight: 1e-6 to 1e6, or -1e6 to -1e-6; default 1); the query is the weighted sum of the items, minus that of "negative", normalised */
                    positive?: {
                        /** @description words (need an embedding model) */
                        text?: string;
                        /** @description multipart only: the name of the file field that holds an image (not "image"); with "text", image and words are one input */
                        file?: string;
                        /** @description a gallery image: its stored vector */
                        id?: number;
                        /** @default 1 */
                        weight?: number;
                    }[];
                    /** @description what to move away from: items as in "positive", subtracted from the query vector */
                    negative?: {
                        /** @description words (need an embedding model) */
                        text?: string;
                        /** @description multipart only: the name of the file field that holds an image (not "image"); with "text", image and words are one input */
                        file?: string;
                        /** @description a gallery image: its stored vector */
                        id?: number;
                        /** @default 1 */
                        weight?: number;
                    }[];
                };
                "application/json": {
                    /**
                     * Format: binary
                     * @description the picture, in any format sharp decodes (JPEG, PNG, WebP, GIF, TIFF, AVIF, HEIF, SVG); at most LOOKALIKE_MAX_UPLOAD_MB
                     */
                    image?: string;
                    /** @description only images with this label */
                    label?: string;
                    /** @description only images under this folder: a prefix of their path relative to the indexed folder, whole folder names ("trips/2021") */
                    folder?: string;
                    /** @description only images taken at or after this date (UTC without an offset) */
                    takenAfter?: string;
                    /** @description only images taken before this date (UTC without an offset) */
                    takenBefore?: string;
                    /** @description only images whose camera "make model" contains this, any case ("canon", "iPhone 12") */
                    camera?: string;
                    /** @description the `next` of the page before: the page after it */
                    cursor?: string;
                    /** @description words to search by, instead of an image (needs an embedding model: LOOKALIKE_EMBED_MODEL) */
                    text?: string;
                    /**
                     * @description results per page
                     * @default 12
                     */
                    k?: number;
                    minScore?: number;
                    /**
                     * @description score: best first; date: newest first among all results that reach minScore (needs minScore)
                     * @default score
                     * @enum {string}
                     */
                    sort?: "score" | "date";
                    /**
                     * @default false
                     * @enum {string}
                     */
                    rerank?: "0" | "1" | "true" | "false" | "on";
                    /**
                     * @default false
                     * @enum {string}
                     */
                    classify?: "0" | "1" | "true" | "false" | "on";
                    /**
                     * @description how words are matched: vector (default: the embedding model), keyword (FTS5 bm25 over file paths, labels, captions and the words pictures show; score: bm25) or hybrid (both, fused by reciprocal rank fusion with k = 60; score: the fused one). keyword and hybrid need captions (LOOKALIKE_CAPTIONS=on, or npm run captions), take no minScore nor sort=date, and page over one ranking made on the first page, 1000 deep
                     * @enum {string}
                     */
                    mode?: "vector" | "keyword" | "hybrid";
                    /** @description what to search for: a JSON list of items {text?, file?, id?, weight?} (weight: 1e-6 to 1e6, or -1e6 to -1e-6; default 1); the query is the weighted sum of the items, minus that of "negative", normalised */
                    positive?: {
                        /** @description words (need an embedding model) */
                        text?: string;
                        /** @description multipart only: the name of the file field that holds an image (not "image"); with "text", image and words are one input */
                        file?: string;
                        /** @description a gallery image: its stored vector */
                        id?: number;
                        /** @default 1 */
                        weight?: number;
                    }[];
                    /** @description what to move away from: items as in "positive", subtracted from the query vector */
                    negative?: {
                        /** @description words (need an embedding model) */
                        text?: string;
                        /** @description multipart only: the name of the file field that holds an image (not "image"); with "text", image and words are one input */
                        file?: string;
                        /** @description a gallery image: its stored vector */
                        id?: number;
                        /** @default 1 */
                        weight?: number;
                    }[];
                };
            };
        };
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        results: {
                            id: number;
                            label: string | null;
                            /** @description file path relative to the indexed folder, or the uploaded file name */
                            source: string | null;
                            width: number;
                            height: number;
                            bytes: number;
                            sha256: string;
                            addedAt: string;
                            /** @description when the photo was taken, ISO 8601: with its offset when EXIF gives one, else a local time without one (see takenFrom) */
                            takenAt: string;
                            /**
                             * @description where takenAt comes from: EXIF DateTimeOriginal, the file's modification time (index builder), the time of upload (no EXIF date), or when it was added (a row from before metadata; npm run index -- <folder> reads its file again)
                             * @enum {string}
                             */
                            takenFrom: "exif" | "file" | "upload" | "added";
                            cameraMake: string | null;
                            cameraModel: string | null;
                            lens: string | null;
                            /** @description GPS position from EXIF, degrees */
                            latitude: number | null;
                            longitude: number | null;
                            thumbnailUrl: string;
                            /** @description cosine similarity of the embeddings, -1..1; with mode=keyword the bm25 score (higher: better), with mode=hybrid the reciprocal rank fusion score */
                            score: number;
                            /** @description P(yes) from the VL model, when re-ranked */
                            rerankScore?: number | null;
                        }[];
                        /** @description the cursor of the next page (pass it as `cursor` with the same query), or null on the last page */
                        next: string | null;
                        tookMs: number;
                        /** @description with classify=true: what /api/classify answers (without few-shot), from the same encode */
                        classification?: {
                            /** @description predicted class, or null when unknown */
                            label: string | null;
                            /** @description the top class even when rejected */
                            candidate: string | null;
                            confidence: number;
                            unknown: boolean;
                            reason: string | null;
                            bestSimilarity: number | null;
                            votes: {
                                label: string;
                                count: number;
                                weight: number;
                                share: number;
                            }[];
                            neighbours: {
                                id: number;
                                score: number;
                                label: string | null;
                                thumbnailUrl: string;
                            }[];
                            /** @description zero-shot: a softmax of the image's cosine to each label's text ("a photo of {label}") over LOOKALIKE_ZEROSHOT_TEMPERATURE */
                            zeroShot?: {
                                label: string | null;
                                candidate: string | null;
                                probability: number;
                                unknown: boolean;
                                reason: string | null;
                                scores: {
                                    label: string;
                                    cosine: number;
                                    probability: number;
                                }[];
                            };
                            /** @description the linear probe: a softmax (multinomial logistic) regression trained on the gallery's labelled vectors in the background; null until one is trained (at least 2 labelled classes), and after a label change it answers from the previous training until the next lands */
                            probe: {
                                label: string;
                                probability: number;
                                /** @description every class the probe knows, most probable first; the probabilities sum to 1 */
                                scores: {
                                    label: string;
                                    probability: number;
                                }[];
                                /** @description labelled vectors it was trained on */
                                trainedOn: number;
                                /** @description the fewest labelled vectors any of its classes had */
                                fewestPerClass: number;
                            } | null;
                            /**
                             * @description which answer to go by: the probe when each of its classes had at least 50 labelled pictures; else KNN when it answered with at least 3 neighbours of its class; else zero-shot
                             * @enum {string|null}
                             */
                            trusted: "knn" | "probe" | "zero-shot" | null;
                            /** @description the trusted method's answer; unknown, whichever method is trusted, when the best labelled neighbour is less similar than LOOKALIKE_KNN_MIN_SIMILARITY (zero-shot over labels given with the request answers by its own threshold) and, for the probe, when its probability is below LOOKALIKE_KNN_MIN_CONFIDENCE; null with no answer at all */
                            answer: {
                                /** @enum {string} */
                                from: "knn" | "probe" | "zero-shot";
                                /** @description the class to go by, or null when unknown */
                                label: string | null;
                                /** @description the trusted method's top class, even when rejected */
                                candidate: string | null;
                                /** @description KNN's vote share, or the probe's or zero-shot's probability */
                                confidence: number;
                                unknown: boolean;
                                reason: string | null;
                            } | null;
                        };
                        rerank?: {
                            reranked: number;
                            cached: number;
                            /** @description false: the time budget ran out; the rest kept its embedding order */
                            complete: boolean;
                            tookMs: number;
                            /**
                             * @description who scored: the Instruct VL model (LOOKALIKE_TEXT_MODEL) or the reranker (LOOKALIKE_RERANK_MODEL)
                             * @enum {string}
                             */
                            judge: "instruct" | "reranker";
                        };
                    };
                };
            };
            /** @description invalid_request: a bad field or parameter; a malformed id (an image id is decimal digits, nothing else); a path that is not valid URL encoding; a page cursor this server did not give, or of another sort, or of another query or filters; `sort=date` without `minScore`, or with over 10000 results above it; a JSON key `__proto__` (or `constructor.prototype`); a request line or header that is not valid HTTP; missing_image: no file; wrong_field: the file in another field than `image` (search: a file field that no `positive` or `negative` item names); invalid_multipart: a multipart body that does not parse: no boundary, a wrong one, garbage, cut short; invalid_json: a JSON body, or a form part sent as `application/json`, that does not parse; empty_body: a JSON content type with no body; prompt_too_long: the prompt (images included; a describe's kept history too) does not fit the text model's context; too_many_classes: few-shot `classes` over `LOOKALIKE_FEWSHOT_MAX_CLASSES`; too_many_examples: few-shot `examples` over `LOOKALIKE_FEWSHOT_MAX_EXAMPLES` per class */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description no_text_model: describe or re-rank without the model for it (`LOOKALIKE_TEXT_MODEL`, `LOOKALIKE_RERANK_MODEL`); text_search_unavailable: words without an embedding model (`LOOKALIKE_EMBED_MODEL`); no_captions: `mode=keyword` or `mode=hybrid` on a gallery that was never captioned (`LOOKALIKE_CAPTIONS=on`, or `npm run captions`); resolve_conflict: a duplicates resolve naming an image in the trash: deleted, or chosen to go by an overlapping resolve that came first (the message names it); nothing was changed; no_job_queue: a job asked of a server without Redis (`LOOKALIKE_REDIS_URL`) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description upload_too_large: an upload over `LOOKALIKE_MAX_UPLOAD_MB` (the message names the limit and the setting); image_too_large: an image over `LOOKALIKE_MAX_PIXELS`, checked from its header before decoding (the message names the limit and the setting); too_many_files: more than one file (search: more than `image` and 8 named by a query's items; the message names the limit); too_many_fields: over 20 form fields (1010 for classify); fields_too_large: a form's text fields over their bytes: 4 KB, about 800 KB for classify's labels; too_many_new_labels: over `LOOKALIKE_ZEROSHOT_MAX_NEW_LABELS` zero-shot labels not embedded yet; body_too_large: a JSON body over 1 MB */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description bad_image: empty, not an image, truncated; not_multipart: an upload route sent something else (a raw `image/jpeg` body included); unsupported_media_type: a JSON route sent something else */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description rate_limited: over `LOOKALIKE_RATE_LIMIT` requests a minute (every route but /livez, /readyz and /metrics, when set) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description loading: the model and gallery are still loading (with Retry-After); startup_failed: the service failed to start (an app built with `buildApp()`: `npm start` exits with code 1 instead) (with Retry-After); busy: the encoder queue is full (`LOOKALIKE_QUEUE_SIZE`); Retry-After is the queue's length times the recent time per request. Duplicates: a scan at another threshold is under way; Retry-After is the last scan's time left (with Retry-After); workers_busy: with `LOOKALIKE_QUERY_ENCODER=queue`: no worker answered within `LOOKALIKE_QUERY_TIMEOUT_MS` (with Retry-After); worker_model_mismatch: with `queue`: a worker of another model answered (no Retry-After: waiting does not mend it); queue_unavailable: Redis, the job queue, is down or did not answer within 3 s: adds, job states and queries sent to workers (an add that waited the 3 s names its job: it may still be stored) (with Retry-After); closed: `/api/health` while the service shuts down (with Retry-After); not_ready: `/readyz`: not ready for traffic; `missing` names what: `models`, `index`, `startup` (a start-up task, or a failed start), `redis` (queue mode), `shutdown` (with Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
        };
    };
    classifyImage: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "multipart/form-data": {
                    /**
                     * Format: binary
                     * @description the picture, in any format sharp decodes (JPEG, PNG, WebP, GIF, TIFF, AVIF, HEIF, SVG); at most LOOKALIKE_MAX_UPLOAD_MB
                     */
                    image: string;
                    k?: number;
                    /** @description zero-shot classes, 2 to 1000: repeat the field, or one JSON array (needs an embedding model); default: the gallery's own labels */
                    labels?: string[];
                    /**
                     * @description knn (default): KNN, and zero-shot with an embedding model; fewshot: also ask the VL model with labelled example images (needs LOOKALIKE_TEXT_MODEL)
                     * @default knn
                     * @enum {string}
                     */
                    method?: "knn" | "fewshot";
                    /** @description few-shot candidate classes (gallery labels), repeated or a JSON array, at most LOOKALIKE_FEWSHOT_MAX_CLASSES; default: the first of the KNN vote */
                    classes?: string[];
                    /**
                     * @description few-shot example images per class, at most LOOKALIKE_FEWSHOT_MAX_EXAMPLES
                     * @default 3
                     */
                    examples?: number;
                };
            };
        };
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @description predicted class, or null when unknown */
                        label: string | null;
                        /** @description the top class even when rejected */
                        candidate: string | null;
                        confidence: number;
                        unknown: boolean;
                        reason: string | null;
                        bestSimilarity: number | null;
                        votes: {
                            label: string;
                            count: number;
                            weight: number;
                            share: number;
                        }[];
                        neighbours: {
                            id: number;
                            score: number;
                            label: string | null;
                            thumbnailUrl: string;
                        }[];
                        /** @description zero-shot: a softmax of the image's cosine to each label's text ("a photo of {label}") over LOOKALIKE_ZEROSHOT_TEMPERATURE */
                        zeroShot?: {
                            label: string | null;
                            candidate: string | null;
                            probability: number;
                            unknown: boolean;
                            reason: string | null;
                            scores: {
                                label: string;
                                cosine: number;
                                probability: number;
                            }[];
                        };
                        /** @description the linear probe: a softmax (multinomial logistic) regression trained on the gallery's labelled vectors in the background; null until one is trained (at least 2 labelled classes), and after a label change it answers from the previous training until the next lands */
                        probe: {
                            label: string;
                            probability: number;
                            /** @description every class the probe knows, most probable first; the probabilities sum to 1 */
                            scores: {
                                label: string;
                                probability: number;
                            }[];
                            /** @description labelled vectors it was trained on */
                            trainedOn: number;
                            /** @description the fewest labelled vectors any of its classes had */
                            fewestPerClass: number;
                        } | null;
                        /**
                         * @description which answer to go by: the probe when each of its classes had at least 50 labelled pictures; else KNN when it answered with at least 3 neighbours of its class; else zero-shot
                         * @enum {string|null}
                         */
                        trusted: "knn" | "probe" | "zero-shot" | null;
                        /** @description the trusted method's answer; unknown, whichever method is trusted, when the best labelled neighbour is less similar than LOOKALIKE_KNN_MIN_SIMILARITY (zero-shot over labels given with the request answers by its own threshold) and, for the probe, when its probability is below LOOKALIKE_KNN_MIN_CONFIDENCE; null with no answer at all */
                        answer: {
                            /** @enum {string} */
                            from: "knn" | "probe" | "zero-shot";
                            /** @description the class to go by, or null when unknown */
                            label: string | null;
                            /** @description the trusted method's top class, even when rejected */
                            candidate: string | null;
                            /** @description KNN's vote share, or the probe's or zero-shot's probability */
                            confidence: number;
                            unknown: boolean;
                            reason: string | null;
                        } | null;
                        /** @description few-shot: the VL model shown each class's nearest labelled images, then this one; probabilities of the class names' tokens, summing to 1 */
                        fewShot?: {
                            label: string;
                            probability: number;
                            scores: {
                                label: string;
                                probability: number;
                                examples: number;
                            }[];
                            /** @description VL model calls: one, and one more per point where class names part ways */
                            modelCalls: number;
                            promptTokens: number;
                            tookMs: number;
                            note?: string;
                        };
                        tookMs: number;
                    };
                };
            };
            /** @description invalid_request: a bad field or parameter; a malformed id (an image id is decimal digits, nothing else); a path that is not valid URL encoding; a page cursor this server did not give, or of another sort, or of another query or filters; `sort=date` without `minScore`, or with over 10000 results above it; a JSON key `__proto__` (or `constructor.prototype`); a request line or header that is not valid HTTP; missing_image: no file; wrong_field: the file in another field than `image` (search: a file field that no `positive` or `negative` item names); invalid_multipart: a multipart body that does not parse: no boundary, a wrong one, garbage, cut short; invalid_json: a JSON body, or a form part sent as `application/json`, that does not parse; empty_body: a JSON content type with no body; prompt_too_long: the prompt (images included; a describe's kept history too) does not fit the text model's context; too_many_classes: few-shot `classes` over `LOOKALIKE_FEWSHOT_MAX_CLASSES`; too_many_examples: few-shot `examples` over `LOOKALIKE_FEWSHOT_MAX_EXAMPLES` per class */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description no_text_model: describe or re-rank without the model for it (`LOOKALIKE_TEXT_MODEL`, `LOOKALIKE_RERANK_MODEL`); text_search_unavailable: words without an embedding model (`LOOKALIKE_EMBED_MODEL`); no_captions: `mode=keyword` or `mode=hybrid` on a gallery that was never captioned (`LOOKALIKE_CAPTIONS=on`, or `npm run captions`); resolve_conflict: a duplicates resolve naming an image in the trash: deleted, or chosen to go by an overlapping resolve that came first (the message names it); nothing was changed; no_job_queue: a job asked of a server without Redis (`LOOKALIKE_REDIS_URL`) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description upload_too_large: an upload over `LOOKALIKE_MAX_UPLOAD_MB` (the message names the limit and the setting); image_too_large: an image over `LOOKALIKE_MAX_PIXELS`, checked from its header before decoding (the message names the limit and the setting); too_many_files: more than one file (search: more than `image` and 8 named by a query's items; the message names the limit); too_many_fields: over 20 form fields (1010 for classify); fields_too_large: a form's text fields over their bytes: 4 KB, about 800 KB for classify's labels; too_many_new_labels: over `LOOKALIKE_ZEROSHOT_MAX_NEW_LABELS` zero-shot labels not embedded yet; body_too_large: a JSON body over 1 MB */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description bad_image: empty, not an image, truncated; not_multipart: an upload route sent something else (a raw `image/jpeg` body included); unsupported_media_type: a JSON route sent something else */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description rate_limited: over `LOOKALIKE_RATE_LIMIT` requests a minute (every route but /livez, /readyz and /metrics, when set) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description loading: the model and gallery are still loading (with Retry-After); startup_failed: the service failed to start (an app built with `buildApp()`: `npm start` exits with code 1 instead) (with Retry-After); busy: the encoder queue is full (`LOOKALIKE_QUEUE_SIZE`); Retry-After is the queue's length times the recent time per request. Duplicates: a scan at another threshold is under way; Retry-After is the last scan's time left (with Retry-After); workers_busy: with `LOOKALIKE_QUERY_ENCODER=queue`: no worker answered within `LOOKALIKE_QUERY_TIMEOUT_MS` (with Retry-After); worker_model_mismatch: with `queue`: a worker of another model answered (no Retry-After: waiting does not mend it); queue_unavailable: Redis, the job queue, is down or did not answer within 3 s: adds, job states and queries sent to workers (an add that waited the 3 s names its job: it may still be stored) (with Retry-After); closed: `/api/health` while the service shuts down (with Retry-After); not_ready: `/readyz`: not ready for traffic; `missing` names what: `models`, `index`, `startup` (a start-up task, or a failed start), `redis` (queue mode), `shutdown` (with Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
        };
    };
    findSimilar: {
        parameters: {
            query?: {
                /** @description only images with this label */
                label?: string;
                /** @description only images under this folder: a prefix of their path relative to the indexed folder, whole folder names ("trips/2021") */
                folder?: string;
                /** @description only images taken at or after this date (UTC without an offset) */
                takenAfter?: string;
                /** @description only images taken before this date (UTC without an offset) */
                takenBefore?: string;
                /** @description only images whose camera "make model" contains this, any case ("canon", "iPhone 12") */
                camera?: string;
                /** @description the `next` of the page before: the page after it */
                cursor?: string;
                k?: number;
                minScore?: number;
                /** @description score: best first; date: newest first among all results that reach minScore (needs minScore) */
                sort?: "score" | "date";
            };
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        results: {
                            id: number;
                            label: string | null;
                            /** @description file path relative to the indexed folder, or the uploaded file name */
                            source: string | null;
                            width: number;
                            height: number;
                            bytes: number;
                            sha256: string;
                            addedAt: string;
                            /** @description when the photo was taken, ISO 8601: with its offset when EXIF gives one, else a local time without one (see takenFrom) */
                            takenAt: string;
                            /**
                             * @description where takenAt comes from: EXIF DateTimeOriginal, the file's modification time (index builder), the time of upload (no EXIF date), or when it was added (a row from before metadata; npm run index -- <folder> reads its file again)
                             * @enum {string}
                             */
                            takenFrom: "exif" | "file" | "upload" | "added";
                            cameraMake: string | null;
                            cameraModel: string | null;
                            lens: string | null;
                            /** @description GPS position from EXIF, degrees */
                            latitude: number | null;
                            longitude: number | null;
                            thumbnailUrl: string;
                            /** @description cosine similarity of the embeddings, -1..1; with mode=keyword the bm25 score (higher: better), with mode=hybrid the reciprocal rank fusion score */
                            score: number;
                            /** @description P(yes) from the VL model, when re-ranked */
                            rerankScore?: number | null;
                        }[];
                        /** @description the cursor of the next page (pass it as `cursor` with the same query), or null on the last page */
                        next: string | null;
                        tookMs: number;
                        /** @description with classify=true: what /api/classify answers (without few-shot), from the same encode */
                        classification?: {
                            /** @description predicted class, or null when unknown */
                            label: string | null;
                            /** @description the top class even when rejected */
                            candidate: string | null;
                            confidence: number;
                            unknown: boolean;
                            reason: string | null;
                            bestSimilarity: number | null;
                            votes: {
                                label: string;
                                count: number;
                                weight: number;
                                share: number;
                            }[];
                            neighbours: {
                                id: number;
                                score: number;
                                label: string | null;
                                thumbnailUrl: string;
                            }[];
                            /** @description zero-shot: a softmax of the image's cosine to each label's text ("a photo of {label}") over LOOKALIKE_ZEROSHOT_TEMPERATURE */
                            zeroShot?: {
                                label: string | null;
                                candidate: string | null;
                                probability: number;
                                unknown: boolean;
                                reason: string | null;
                                scores: {
                                    label: string;
                                    cosine: number;
                                    probability: number;
                                }[];
                            };
                            /** @description the linear probe: a softmax (multinomial logistic) regression trained on the gallery's labelled vectors in the background; null until one is trained (at least 2 labelled classes), and after a label change it answers from the previous training until the next lands */
                            probe: {
                                label: string;
                                probability: number;
                                /** @description every class the probe knows, most probable first; the probabilities sum to 1 */
                                scores: {
                                    label: string;
                                    probability: number;
                                }[];
                                /** @description labelled vectors it was trained on */
                                trainedOn: number;
                                /** @description the fewest labelled vectors any of its classes had */
                                fewestPerClass: number;
                            } | null;
                            /**
                             * @description which answer to go by: the probe when each of its classes had at least 50 labelled pictures; else KNN when it answered with at least 3 neighbours of its class; else zero-shot
                             * @enum {string|null}
                             */
                            trusted: "knn" | "probe" | "zero-shot" | null;
                            /** @description the trusted method's answer; unknown, whichever method is trusted, when the best labelled neighbour is less similar than LOOKALIKE_KNN_MIN_SIMILARITY (zero-shot over labels given with the request answers by its own threshold) and, for the probe, when its probability is below LOOKALIKE_KNN_MIN_CONFIDENCE; null with no answer at all */
                            answer: {
                                /** @enum {string} */
                                from: "knn" | "probe" | "zero-shot";
                                /** @description the class to go by, or null when unknown */
                                label: string | null;
                                /** @description the trusted method's top class, even when rejected */
                                candidate: string | null;
                                /** @description KNN's vote share, or the probe's or zero-shot's probability */
                                confidence: number;
                                unknown: boolean;
                                reason: string | null;
                            } | null;
                        };
                        rerank?: {
                            reranked: number;
                            cached: number;
                            /** @description false: the time budget ran out; the rest kept its embedding order */
                            complete: boolean;
                            tookMs: number;
                            /**
                             * @description who scored: the Instruct VL model (LOOKALIKE_TEXT_MODEL) or the reranker (LOOKALIKE_RERANK_MODEL)
                             * @enum {string}
                             */
                            judge: "instruct" | "reranker";
                        };
                    };
                };
            };
            /** @description invalid_request: a bad field or parameter; a malformed id (an image id is decimal digits, nothing else); a path that is not valid URL encoding; a page cursor this server did not give, or of another sort, or of another query or filters; `sort=date` without `minScore`, or with over 10000 results above it; a JSON key `__proto__` (or `constructor.prototype`); a request line or header that is not valid HTTP; missing_image: no file; wrong_field: the file in another field than `image` (search: a file field that no `positive` or `negative` item names); invalid_multipart: a multipart body that does not parse: no boundary, a wrong one, garbage, cut short; invalid_json: a JSON body, or a form part sent as `application/json`, that does not parse; empty_body: a JSON content type with no body; prompt_too_long: the prompt (images included; a describe's kept history too) does not fit the text model's context; too_many_classes: few-shot `classes` over `LOOKALIKE_FEWSHOT_MAX_CLASSES`; too_many_examples: few-shot `examples` over `LOOKALIKE_FEWSHOT_MAX_EXAMPLES` per class */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description not_found: no image (or job, or route) with this id */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description rate_limited: over `LOOKALIKE_RATE_LIMIT` requests a minute (every route but /livez, /readyz and /metrics, when set) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description loading: the model and gallery are still loading (with Retry-After); startup_failed: the service failed to start (an app built with `buildApp()`: `npm start` exits with code 1 instead) (with Retry-After); busy: the encoder queue is full (`LOOKALIKE_QUEUE_SIZE`); Retry-After is the queue's length times the recent time per request. Duplicates: a scan at another threshold is under way; Retry-After is the last scan's time left (with Retry-After); workers_busy: with `LOOKALIKE_QUERY_ENCODER=queue`: no worker answered within `LOOKALIKE_QUERY_TIMEOUT_MS` (with Retry-After); worker_model_mismatch: with `queue`: a worker of another model answered (no Retry-After: waiting does not mend it); queue_unavailable: Redis, the job queue, is down or did not answer within 3 s: adds, job states and queries sent to workers (an add that waited the 3 s names its job: it may still be stored) (with Retry-After); closed: `/api/health` while the service shuts down (with Retry-After); not_ready: `/readyz`: not ready for traffic; `missing` names what: `models`, `index`, `startup` (a start-up task, or a failed start), `redis` (queue mode), `shutdown` (with Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
        };
    };
    listImages: {
        parameters: {
            query?: {
                /** @description only images with this label */
                label?: string;
                /** @description only images under this folder: a prefix of their path relative to the indexed folder, whole folder names ("trips/2021") */
                folder?: string;
                /** @description only images taken at or after this date (UTC without an offset) */
                takenAfter?: string;
                /** @description only images taken before this date (UTC without an offset) */
                takenBefore?: string;
                /** @description only images whose camera "make model" contains this, any case ("canon", "iPhone 12") */
                camera?: string;
                /** @description the `next` of the page before: the page after it */
                cursor?: string;
                /** @description date: newest taken first; added: newest added first */
                sort?: "date" | "added";
                limit?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        images: {
                            id: number;
                            label: string | null;
                            /** @description file path relative to the indexed folder, or the uploaded file name */
                            source: string | null;
                            width: number;
                            height: number;
                            bytes: number;
                            sha256: string;
                            addedAt: string;
                            /** @description when the photo was taken, ISO 8601: with its offset when EXIF gives one, else a local time without one (see takenFrom) */
                            takenAt: string;
                            /**
                             * @description where takenAt comes from: EXIF DateTimeOriginal, the file's modification time (index builder), the time of upload (no EXIF date), or when it was added (a row from before metadata; npm run index -- <folder> reads its file again)
                             * @enum {string}
                             */
                            takenFrom: "exif" | "file" | "upload" | "added";
                            cameraMake: string | null;
                            cameraModel: string | null;
                            lens: string | null;
                            /** @description GPS position from EXIF, degrees */
                            latitude: number | null;
                            longitude: number | null;
                            thumbnailUrl: string;
                        }[];
                        /** @description the cursor of the next page, or null on the last */
                        next: string | null;
                    };
                };
            };
            /** @description invalid_request: a bad field or parameter; a malformed id (an image id is decimal digits, nothing else); a path that is not valid URL encoding; a page cursor this server did not give, or of another sort, or of another query or filters; `sort=date` without `minScore`, or with over 10000 results above it; a JSON key `__proto__` (or `constructor.prototype`); a request line or header that is not valid HTTP; missing_image: no file; wrong_field: the file in another field than `image` (search: a file field that no `positive` or `negative` item names); invalid_multipart: a multipart body that does not parse: no boundary, a wrong one, garbage, cut short; invalid_json: a JSON body, or a form part sent as `application/json`, that does not parse; empty_body: a JSON content type with no body; prompt_too_long: the prompt (images included; a describe's kept history too) does not fit the text model's context; too_many_classes: few-shot `classes` over `LOOKALIKE_FEWSHOT_MAX_CLASSES`; too_many_examples: few-shot `examples` over `LOOKALIKE_FEWSHOT_MAX_EXAMPLES` per class */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description rate_limited: over `LOOKALIKE_RATE_LIMIT` requests a minute (every route but /livez, /readyz and /metrics, when set) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description loading: the model and gallery are still loading (with Retry-After); startup_failed: the service failed to start (an app built with `buildApp()`: `npm start` exits with code 1 instead) (with Retry-After); busy: the encoder queue is full (`LOOKALIKE_QUEUE_SIZE`); Retry-After is the queue's length times the recent time per request. Duplicates: a scan at another threshold is under way; Retry-After is the last scan's time left (with Retry-After); workers_busy: with `LOOKALIKE_QUERY_ENCODER=queue`: no worker answered within `LOOKALIKE_QUERY_TIMEOUT_MS` (with Retry-After); worker_model_mismatch: with `queue`: a worker of another model answered (no Retry-After: waiting does not mend it); queue_unavailable: Redis, the job queue, is down or did not answer within 3 s: adds, job states and queries sent to workers (an add that waited the 3 s names its job: it may still be stored) (with Retry-After); closed: `/api/health` while the service shuts down (with Retry-After); not_ready: `/readyz`: not ready for traffic; `missing` names what: `models`, `index`, `startup` (a start-up task, or a failed start), `redis` (queue mode), `shutdown` (with Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
        };
    };
    addImage: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "multipart/form-data": {
                    /**
                     * Format: binary
                     * @description the picture, in any format sharp decodes (JPEG, PNG, WebP, GIF, TIFF, AVIF, HEIF, SVG); at most LOOKALIKE_MAX_UPLOAD_MB
                     */
                    image: string;
                    /** @description class name; given again with the same content, it replaces the stored one */
                    label?: string;
                };
            };
        };
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        id: number;
                        label: string | null;
                        /** @enum {boolean} */
                        duplicate: true;
                        relabelled: boolean;
                        /** @description the content was in the trash: it is back, with its id */
                        restored: boolean;
                    };
                };
            };
            /** @description Default Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        id: number;
                        label: string | null;
                        /** @enum {boolean} */
                        duplicate: false;
                        /** @enum {boolean} */
                        relabelled: false;
                        /** @enum {boolean} */
                        restored: false;
                    };
                };
            };
            /** @description encoded by a worker: follow GET /api/jobs/{id} */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        jobId: string;
                        statusUrl: string;
                    };
                };
            };
            /** @description invalid_request: a bad field or parameter; a malformed id (an image id is decimal digits, nothing else); a path that is not valid URL encoding; a page cursor this server did not give, or of another sort, or of another query or filters; `sort=date` without `minScore`, or with over 10000 results above it; a JSON key `__proto__` (or `constructor.prototype`); a request line or header that is not valid HTTP; missing_image: no file; wrong_field: the file in another field than `image` (search: a file field that no `positive` or `negative` item names); invalid_multipart: a multipart body that does not parse: no boundary, a wrong one, garbage, cut short; invalid_json: a JSON body, or a form part sent as `application/json`, that does not parse; empty_body: a JSON content type with no body; prompt_too_long: the prompt (images included; a describe's kept history too) does not fit the text model's context; too_many_classes: few-shot `classes` over `LOOKALIKE_FEWSHOT_MAX_CLASSES`; too_many_examples: few-shot `examples` over `LOOKALIKE_FEWSHOT_MAX_EXAMPLES` per class */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description unauthorized: this route needs `Authorization: Bearer <LOOKALIKE_API_KEY>` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description forbidden: a wrong key; writes_disabled: a change, on a server listening beyond loopback without `LOOKALIKE_API_KEY`; metrics_disabled: `/metrics` on a server listening beyond loopback without a key */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description upload_too_large: an upload over `LOOKALIKE_MAX_UPLOAD_MB` (the message names the limit and the setting); image_too_large: an image over `LOOKALIKE_MAX_PIXELS`, checked from its header before decoding (the message names the limit and the setting); too_many_files: more than one file (search: more than `image` and 8 named by a query's items; the message names the limit); too_many_fields: over 20 form fields (1010 for classify); fields_too_large: a form's text fields over their bytes: 4 KB, about 800 KB for classify's labels; too_many_new_labels: over `LOOKALIKE_ZEROSHOT_MAX_NEW_LABELS` zero-shot labels not embedded yet; body_too_large: a JSON body over 1 MB */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description bad_image: empty, not an image, truncated; not_multipart: an upload route sent something else (a raw `image/jpeg` body included); unsupported_media_type: a JSON route sent something else */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description rate_limited: over `LOOKALIKE_RATE_LIMIT` requests a minute (every route but /livez, /readyz and /metrics, when set) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description loading: the model and gallery are still loading (with Retry-After); startup_failed: the service failed to start (an app built with `buildApp()`: `npm start` exits with code 1 instead) (with Retry-After); busy: the encoder queue is full (`LOOKALIKE_QUEUE_SIZE`); Retry-After is the queue's length times the recent time per request. Duplicates: a scan at another threshold is under way; Retry-After is the last scan's time left (with Retry-After); workers_busy: with `LOOKALIKE_QUERY_ENCODER=queue`: no worker answered within `LOOKALIKE_QUERY_TIMEOUT_MS` (with Retry-After); worker_model_mismatch: with `queue`: a worker of another model answered (no Retry-After: waiting does not mend it); queue_unavailable: Redis, the job queue, is down or did not answer within 3 s: adds, job states and queries sent to workers (an add that waited the 3 s names its job: it may still be stored) (with Retry-After); closed: `/api/health` while the service shuts down (with Retry-After); not_ready: `/readyz`: not ready for traffic; `missing` names what: `models`, `index`, `startup` (a start-up task, or a failed start), `redis` (queue mode), `shutdown` (with Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description disk_full: a change, on a full disk: it was not made, and searches and reads go on; index_out_of_memory: an add the index cannot take in this memory (a `flat` or `hnsw` array doubles as it grows): the image was not stored; searches go on */
            507: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
        };
    };
    getJob: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the jobId that POST /api/images answered; any other id is a 404 */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        id: string;
                        /** @enum {string} */
                        state: "waiting" | "active" | "done" | "failed";
                        imageId?: number;
                        error?: string;
                    };
                };
            };
            /** @description not_found: no image (or job, or route) with this id */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description no_text_model: describe or re-rank without the model for it (`LOOKALIKE_TEXT_MODEL`, `LOOKALIKE_RERANK_MODEL`); text_search_unavailable: words without an embedding model (`LOOKALIKE_EMBED_MODEL`); no_captions: `mode=keyword` or `mode=hybrid` on a gallery that was never captioned (`LOOKALIKE_CAPTIONS=on`, or `npm run captions`); resolve_conflict: a duplicates resolve naming an image in the trash: deleted, or chosen to go by an overlapping resolve that came first (the message names it); nothing was changed; no_job_queue: a job asked of a server without Redis (`LOOKALIKE_REDIS_URL`) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description rate_limited: over `LOOKALIKE_RATE_LIMIT` requests a minute (every route but /livez, /readyz and /metrics, when set) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description loading: the model and gallery are still loading (with Retry-After); startup_failed: the service failed to start (an app built with `buildApp()`: `npm start` exits with code 1 instead) (with Retry-After); busy: the encoder queue is full (`LOOKALIKE_QUEUE_SIZE`); Retry-After is the queue's length times the recent time per request. Duplicates: a scan at another threshold is under way; Retry-After is the last scan's time left (with Retry-After); workers_busy: with `LOOKALIKE_QUERY_ENCODER=queue`: no worker answered within `LOOKALIKE_QUERY_TIMEOUT_MS` (with Retry-After); worker_model_mismatch: with `queue`: a worker of another model answered (no Retry-After: waiting does not mend it); queue_unavailable: Redis, the job queue, is down or did not answer within 3 s: adds, job states and queries sent to workers (an add that waited the 3 s names its job: it may still be stored) (with Retry-After); closed: `/api/health` while the service shuts down (with Retry-After); not_ready: `/readyz`: not ready for traffic; `missing` names what: `models`, `index`, `startup` (a start-up task, or a failed start), `redis` (queue mode), `shutdown` (with Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
        };
    };
    getImage: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        id: number;
                        label: string | null;
                        /** @description file path relative to the indexed folder, or the uploaded file name */
                        source: string | null;
                        width: number;
                        height: number;
                        bytes: number;
                        sha256: string;
                        addedAt: string;
                        /** @description when the photo was taken, ISO 8601: with its offset when EXIF gives one, else a local time without one (see takenFrom) */
                        takenAt: string;
                        /**
                         * @description where takenAt comes from: EXIF DateTimeOriginal, the file's modification time (index builder), the time of upload (no EXIF date), or when it was added (a row from before metadata; npm run index -- <folder> reads its file again)
                         * @enum {string}
                         */
                        takenFrom: "exif" | "file" | "upload" | "added";
                        cameraMake: string | null;
                        cameraModel: string | null;
                        lens: string | null;
                        /** @description GPS position from EXIF, degrees */
                        latitude: number | null;
                        longitude: number | null;
                        thumbnailUrl: string;
                    };
                };
            };
            /** @description invalid_request: a bad field or parameter; a malformed id (an image id is decimal digits, nothing else); a path that is not valid URL encoding; a page cursor this server did not give, or of another sort, or of another query or filters; `sort=date` without `minScore`, or with over 10000 results above it; a JSON key `__proto__` (or `constructor.prototype`); a request line or header that is not valid HTTP; missing_image: no file; wrong_field: the file in another field than `image` (search: a file field that no `positive` or `negative` item names); invalid_multipart: a multipart body that does not parse: no boundary, a wrong one, garbage, cut short; invalid_json: a JSON body, or a form part sent as `application/json`, that does not parse; empty_body: a JSON content type with no body; prompt_too_long: the prompt (images included; a describe's kept history too) does not fit the text model's context; too_many_classes: few-shot `classes` over `LOOKALIKE_FEWSHOT_MAX_CLASSES`; too_many_examples: few-shot `examples` over `LOOKALIKE_FEWSHOT_MAX_EXAMPLES` per class */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description not_found: no image (or job, or route) with this id */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description rate_limited: over `LOOKALIKE_RATE_LIMIT` requests a minute (every route but /livez, /readyz and /metrics, when set) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description loading: the model and gallery are still loading (with Retry-After); startup_failed: the service failed to start (an app built with `buildApp()`: `npm start` exits with code 1 instead) (with Retry-After); busy: the encoder queue is full (`LOOKALIKE_QUEUE_SIZE`); Retry-After is the queue's length times the recent time per request. Duplicates: a scan at another threshold is under way; Retry-After is the last scan's time left (with Retry-After); workers_busy: with `LOOKALIKE_QUERY_ENCODER=queue`: no worker answered within `LOOKALIKE_QUERY_TIMEOUT_MS` (with Retry-After); worker_model_mismatch: with `queue`: a worker of another model answered (no Retry-After: waiting does not mend it); queue_unavailable: Redis, the job queue, is down or did not answer within 3 s: adds, job states and queries sent to workers (an add that waited the 3 s names its job: it may still be stored) (with Retry-After); closed: `/api/health` while the service shuts down (with Retry-After); not_ready: `/readyz`: not ready for traffic; `missing` names what: `models`, `index`, `startup` (a start-up task, or a failed start), `redis` (queue mode), `shutdown` (with Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
        };
    };
    deleteImage: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Default Response */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": null;
                };
            };
            /** @description invalid_request: a bad field or parameter; a malformed id (an image id is decimal digits, nothing else); a path that is not valid URL encoding; a page cursor this server did not give, or of another sort, or of another query or filters; `sort=date` without `minScore`, or with over 10000 results above it; a JSON key `__proto__` (or `constructor.prototype`); a request line or header that is not valid HTTP; missing_image: no file; wrong_field: the file in another field than `image` (search: a file field that no `positive` or `negative` item names); invalid_multipart: a multipart body that does not parse: no boundary, a wrong one, garbage, cut short; invalid_json: a JSON body, or a form part sent as `application/json`, that does not parse; empty_body: a JSON content type with no body; prompt_too_long: the prompt (images included; a describe's kept history too) does not fit the text model's context; too_many_classes: few-shot `classes` over `LOOKALIKE_FEWSHOT_MAX_CLASSES`; too_many_examples: few-shot `examples` over `LOOKALIKE_FEWSHOT_MAX_EXAMPLES` per class */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description unauthorized: this route needs `Authorization: Bearer <LOOKALIKE_API_KEY>` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description forbidden: a wrong key; writes_disabled: a change, on a server listening beyond loopback without `LOOKALIKE_API_KEY`; metrics_disabled: `/metrics` on a server listening beyond loopback without a key */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description not_found: no image (or job, or route) with this id */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description rate_limited: over `LOOKALIKE_RATE_LIMIT` requests a minute (every route but /livez, /readyz and /metrics, when set) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description loading: the model and gallery are still loading (with Retry-After); startup_failed: the service failed to start (an app built with `buildApp()`: `npm start` exits with code 1 instead) (with Retry-After); busy: the encoder queue is full (`LOOKALIKE_QUEUE_SIZE`); Retry-After is the queue's length times the recent time per request. Duplicates: a scan at another threshold is under way; Retry-After is the last scan's time left (with Retry-After); workers_busy: with `LOOKALIKE_QUERY_ENCODER=queue`: no worker answered within `LOOKALIKE_QUERY_TIMEOUT_MS` (with Retry-After); worker_model_mismatch: with `queue`: a worker of another model answered (no Retry-After: waiting does not mend it); queue_unavailable: Redis, the job queue, is down or did not answer within 3 s: adds, job states and queries sent to workers (an add that waited the 3 s names its job: it may still be stored) (with Retry-After); closed: `/api/health` while the service shuts down (with Retry-After); not_ready: `/readyz`: not ready for traffic; `missing` names what: `models`, `index`, `startup` (a start-up task, or a failed start), `redis` (queue mode), `shutdown` (with Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description disk_full: a change, on a full disk: it was not made, and searches and reads go on; index_out_of_memory: an add the index cannot take in this memory (a `flat` or `hnsw` array doubles as it grows): the image was not stored; searches go on */
            507: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
        };
    };
    relabelImage: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    label: string | null;
                };
            };
        };
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        id: number;
                        label: string | null;
                        /** @description file path relative to the indexed folder, or the uploaded file name */
                        source: string | null;
                        width: number;
                        height: number;
                        bytes: number;
                        sha256: string;
                        addedAt: string;
                        /** @description when the photo was taken, ISO 8601: with its offset when EXIF gives one, else a local time without one (see takenFrom) */
                        takenAt: string;
                        /**
                         * @description where takenAt comes from: EXIF DateTimeOriginal, the file's modification time (index builder), the time of upload (no EXIF date), or when it was added (a row from before metadata; npm run index -- <folder> reads its file again)
                         * @enum {string}
                         */
                        takenFrom: "exif" | "file" | "upload" | "added";
                        cameraMake: string | null;
                        cameraModel: string | null;
                        lens: string | null;
                        /** @description GPS position from EXIF, degrees */
                        latitude: number | null;
                        longitude: number | null;
                        thumbnailUrl: string;
                    };
                };
            };
            /** @description invalid_request: a bad field or parameter; a malformed id (an image id is decimal digits, nothing else); a path that is not valid URL encoding; a page cursor this server did not give, or of another sort, or of another query or filters; `sort=date` without `minScore`, or with over 10000 results above it; a JSON key `__proto__` (or `constructor.prototype`); a request line or header that is not valid HTTP; missing_image: no file; wrong_field: the file in another field than `image` (search: a file field that no `positive` or `negative` item names); invalid_multipart: a multipart body that does not parse: no boundary, a wrong one, garbage, cut short; invalid_json: a JSON body, or a form part sent as `application/json`, that does not parse; empty_body: a JSON content type with no body; prompt_too_long: the prompt (images included; a describe's kept history too) does not fit the text model's context; too_many_classes: few-shot `classes` over `LOOKALIKE_FEWSHOT_MAX_CLASSES`; too_many_examples: few-shot `examples` over `LOOKALIKE_FEWSHOT_MAX_EXAMPLES` per class */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description unauthorized: this route needs `Authorization: Bearer <LOOKALIKE_API_KEY>` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description forbidden: a wrong key; writes_disabled: a change, on a server listening beyond loopback without `LOOKALIKE_API_KEY`; metrics_disabled: `/metrics` on a server listening beyond loopback without a key */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description not_found: no image (or job, or route) with this id */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description bad_image: empty, not an image, truncated; not_multipart: an upload route sent something else (a raw `image/jpeg` body included); unsupported_media_type: a JSON route sent something else */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description rate_limited: over `LOOKALIKE_RATE_LIMIT` requests a minute (every route but /livez, /readyz and /metrics, when set) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description loading: the model and gallery are still loading (with Retry-After); startup_failed: the service failed to start (an app built with `buildApp()`: `npm start` exits with code 1 instead) (with Retry-After); busy: the encoder queue is full (`LOOKALIKE_QUEUE_SIZE`); Retry-After is the queue's length times the recent time per request. Duplicates: a scan at another threshold is under way; Retry-After is the last scan's time left (with Retry-After); workers_busy: with `LOOKALIKE_QUERY_ENCODER=queue`: no worker answered within `LOOKALIKE_QUERY_TIMEOUT_MS` (with Retry-After); worker_model_mismatch: with `queue`: a worker of another model answered (no Retry-After: waiting does not mend it); queue_unavailable: Redis, the job queue, is down or did not answer within 3 s: adds, job states and queries sent to workers (an add that waited the 3 s names its job: it may still be stored) (with Retry-After); closed: `/api/health` while the service shuts down (with Retry-After); not_ready: `/readyz`: not ready for traffic; `missing` names what: `models`, `index`, `startup` (a start-up task, or a failed start), `redis` (queue mode), `shutdown` (with Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description disk_full: a change, on a full disk: it was not made, and searches and reads go on; index_out_of_memory: an add the index cannot take in this memory (a `flat` or `hnsw` array doubles as it grows): the image was not stored; searches go on */
            507: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
        };
    };
    getThumbnail: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description image/webp bytes */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": unknown;
                };
            };
            /** @description invalid_request: a bad field or parameter; a malformed id (an image id is decimal digits, nothing else); a path that is not valid URL encoding; a page cursor this server did not give, or of another sort, or of another query or filters; `sort=date` without `minScore`, or with over 10000 results above it; a JSON key `__proto__` (or `constructor.prototype`); a request line or header that is not valid HTTP; missing_image: no file; wrong_field: the file in another field than `image` (search: a file field that no `positive` or `negative` item names); invalid_multipart: a multipart body that does not parse: no boundary, a wrong one, garbage, cut short; invalid_json: a JSON body, or a form part sent as `application/json`, that does not parse; empty_body: a JSON content type with no body; prompt_too_long: the prompt (images included; a describe's kept history too) does not fit the text model's context; too_many_classes: few-shot `classes` over `LOOKALIKE_FEWSHOT_MAX_CLASSES`; too_many_examples: few-shot `examples` over `LOOKALIKE_FEWSHOT_MAX_EXAMPLES` per class */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description not_found: no image (or job, or route) with this id */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description rate_limited: over `LOOKALIKE_RATE_LIMIT` requests a minute (every route but /livez, /readyz and /metrics, when set) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description loading: the model and gallery are still loading (with Retry-After); startup_failed: the service failed to start (an app built with `buildApp()`: `npm start` exits with code 1 instead) (with Retry-After); busy: the encoder queue is full (`LOOKALIKE_QUEUE_SIZE`); Retry-After is the queue's length times the recent time per request. Duplicates: a scan at another threshold is under way; Retry-After is the last scan's time left (with Retry-After); workers_busy: with `LOOKALIKE_QUERY_ENCODER=queue`: no worker answered within `LOOKALIKE_QUERY_TIMEOUT_MS` (with Retry-After); worker_model_mismatch: with `queue`: a worker of another model answered (no Retry-After: waiting does not mend it); queue_unavailable: Redis, the job queue, is down or did not answer within 3 s: adds, job states and queries sent to workers (an add that waited the 3 s names its job: it may still be stored) (with Retry-After); closed: `/api/health` while the service shuts down (with Retry-After); not_ready: `/readyz`: not ready for traffic; `missing` names what: `models`, `index`, `startup` (a start-up task, or a failed start), `redis` (queue mode), `shutdown` (with Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
        };
    };
    getStats: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @description images in the gallery (those in the trash are not) */
                        images: number;
                        /** @description images in the trash (GET /api/trash) */
                        trashed: number;
                        embedded: number;
                        labelled: number;
                        labels: {
                            label: string;
                            count: number;
                        }[];
                        index: {
                            kind: string;
                            dim: number;
                            live: number;
                            ntotal: number;
                            tombstones: number;
                            staged: number;
                            bytesPerVector: number;
                            trainedOn: number;
                            /** @description the index file's bytes per vector at its last save (measured; bytesPerVector is the model) */
                            fileBytesPerVector: number | null;
                            /** @description the SQLite file's bytes per embedded image (vectors, thumbnails, rows) */
                            databaseBytesPerVector: number | null;
                        };
                        captions: {
                            /** @description LOOKALIKE_CAPTIONS=on: the Instruct model captions in the background */
                            enabled: boolean;
                            captioned: number;
                            /** @description images of the gallery with no caption yet */
                            pending: number;
                            /** @description captions a second, over the last 50 */
                            perSecond: number | null;
                            /** @description seconds until none is pending, at that rate */
                            etaSeconds: number | null;
                        };
                        model: {
                            modelId: string;
                            fileName: string;
                            dim: number;
                            pooling: string;
                            projectorType: string;
                        };
                        demo: boolean;
                        queue: {
                            inUse: number;
                            capacity: number;
                        };
                        device: {
                            /** @enum {string} */
                            kind: "cpu" | "gpu";
                            /** @description ggml device: CPU, Vulkan0, CUDA0, ... */
                            name: string;
                            /** @description e.g. "Vulkan0 (llvmpipe (LLVM 15.0.6, 256 bits))" or "CPU, 2 threads, ggml zen4 kernels" */
                            description: string;
                            backend: string;
                            /** @description bytes free on the GPU, where ggml reports it (0 when it does not); null on the CPU */
                            memoryFree: number | null;
                            memoryTotal: number | null;
                            /** @description CPU threads per encode and per text-model step */
                            threads: number;
                            /** @description the ggml CPU kernels loaded (libggml-cpu-<variant>.so) */
                            cpuVariant: string | null;
                            /** @description where the vision tower runs, as llama.cpp reported at load: CPU, Vulkan0, CUDA0 */
                            visionTower: string;
                            /** @description text-model layers (of the VL model, when loaded) that llama.cpp offloaded to the GPU */
                            textLayersOnGpu: number | null;
                        };
                    };
                };
            };
            /** @description rate_limited: over `LOOKALIKE_RATE_LIMIT` requests a minute (every route but /livez, /readyz and /metrics, when set) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description loading: the model and gallery are still loading (with Retry-After); startup_failed: the service failed to start (an app built with `buildApp()`: `npm start` exits with code 1 instead) (with Retry-After); busy: the encoder queue is full (`LOOKALIKE_QUEUE_SIZE`); Retry-After is the queue's length times the recent time per request. Duplicates: a scan at another threshold is under way; Retry-After is the last scan's time left (with Retry-After); workers_busy: with `LOOKALIKE_QUERY_ENCODER=queue`: no worker answered within `LOOKALIKE_QUERY_TIMEOUT_MS` (with Retry-After); worker_model_mismatch: with `queue`: a worker of another model answered (no Retry-After: waiting does not mend it); queue_unavailable: Redis, the job queue, is down or did not answer within 3 s: adds, job states and queries sent to workers (an add that waited the 3 s names its job: it may still be stored) (with Retry-After); closed: `/api/health` while the service shuts down (with Retry-After); not_ready: `/readyz`: not ready for traffic; `missing` names what: `models`, `index`, `startup` (a start-up task, or a failed start), `redis` (queue mode), `shutdown` (with Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
        };
    };
    describeImage: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "multipart/form-data": {
                    /**
                     * Format: binary
                     * @description the picture, in any format sharp decodes (JPEG, PNG, WebP, GIF, TIFF, AVIF, HEIF, SVG); at most LOOKALIKE_MAX_UPLOAD_MB
                     */
                    image: string;
                    /** @default Describe this image. */
                    prompt?: string;
                    maxTokens?: number;
                    /** @default 0 */
                    temperature?: number;
                    seed?: number;
                    history?: {
                        /** @enum {string} */
                        role: "user" | "assistant";
                        text: string;
                    }[];
                };
            };
        };
        responses: {
            /** @description text/event-stream */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/event-stream": unknown;
                };
            };
            /** @description invalid_request: a bad field or parameter; a malformed id (an image id is decimal digits, nothing else); a path that is not valid URL encoding; a page cursor this server did not give, or of another sort, or of another query or filters; `sort=date` without `minScore`, or with over 10000 results above it; a JSON key `__proto__` (or `constructor.prototype`); a request line or header that is not valid HTTP; missing_image: no file; wrong_field: the file in another field than `image` (search: a file field that no `positive` or `negative` item names); invalid_multipart: a multipart body that does not parse: no boundary, a wrong one, garbage, cut short; invalid_json: a JSON body, or a form part sent as `application/json`, that does not parse; empty_body: a JSON content type with no body; prompt_too_long: the prompt (images included; a describe's kept history too) does not fit the text model's context; too_many_classes: few-shot `classes` over `LOOKALIKE_FEWSHOT_MAX_CLASSES`; too_many_examples: few-shot `examples` over `LOOKALIKE_FEWSHOT_MAX_EXAMPLES` per class */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/event-stream": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description no_text_model: describe or re-rank without the model for it (`LOOKALIKE_TEXT_MODEL`, `LOOKALIKE_RERANK_MODEL`); text_search_unavailable: words without an embedding model (`LOOKALIKE_EMBED_MODEL`); no_captions: `mode=keyword` or `mode=hybrid` on a gallery that was never captioned (`LOOKALIKE_CAPTIONS=on`, or `npm run captions`); resolve_conflict: a duplicates resolve naming an image in the trash: deleted, or chosen to go by an overlapping resolve that came first (the message names it); nothing was changed; no_job_queue: a job asked of a server without Redis (`LOOKALIKE_REDIS_URL`) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/event-stream": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description upload_too_large: an upload over `LOOKALIKE_MAX_UPLOAD_MB` (the message names the limit and the setting); image_too_large: an image over `LOOKALIKE_MAX_PIXELS`, checked from its header before decoding (the message names the limit and the setting); too_many_files: more than one file (search: more than `image` and 8 named by a query's items; the message names the limit); too_many_fields: over 20 form fields (1010 for classify); fields_too_large: a form's text fields over their bytes: 4 KB, about 800 KB for classify's labels; too_many_new_labels: over `LOOKALIKE_ZEROSHOT_MAX_NEW_LABELS` zero-shot labels not embedded yet; body_too_large: a JSON body over 1 MB */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/event-stream": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description bad_image: empty, not an image, truncated; not_multipart: an upload route sent something else (a raw `image/jpeg` body included); unsupported_media_type: a JSON route sent something else */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/event-stream": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description rate_limited: over `LOOKALIKE_RATE_LIMIT` requests a minute (every route but /livez, /readyz and /metrics, when set) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/event-stream": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description loading: the model and gallery are still loading (with Retry-After); startup_failed: the service failed to start (an app built with `buildApp()`: `npm start` exits with code 1 instead) (with Retry-After); busy: the encoder queue is full (`LOOKALIKE_QUEUE_SIZE`); Retry-After is the queue's length times the recent time per request. Duplicates: a scan at another threshold is under way; Retry-After is the last scan's time left (with Retry-After); workers_busy: with `LOOKALIKE_QUERY_ENCODER=queue`: no worker answered within `LOOKALIKE_QUERY_TIMEOUT_MS` (with Retry-After); worker_model_mismatch: with `queue`: a worker of another model answered (no Retry-After: waiting does not mend it); queue_unavailable: Redis, the job queue, is down or did not answer within 3 s: adds, job states and queries sent to workers (an add that waited the 3 s names its job: it may still be stored) (with Retry-After); closed: `/api/health` while the service shuts down (with Retry-After); not_ready: `/readyz`: not ready for traffic; `missing` names what: `models`, `index`, `startup` (a start-up task, or a failed start), `redis` (queue mode), `shutdown` (with Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/event-stream": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
        };
    };
    getMetrics: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Prometheus text format */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": string;
                };
            };
            /** @description unauthorized: this route needs `Authorization: Bearer <LOOKALIKE_API_KEY>` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description forbidden: a wrong key; writes_disabled: a change, on a server listening beyond loopback without `LOOKALIKE_API_KEY`; metrics_disabled: `/metrics` on a server listening beyond loopback without a key */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
        };
    };
    findDuplicates: {
        parameters: {
            query?: {
                /** @description cosine similarity at which two images are near duplicates (default LOOKALIKE_DUPLICATE_THRESHOLD) */
                threshold?: number;
                /** @description at most this many groups (exact first, then the tightest) */
                limit?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        threshold: number;
                        /** @description groups found, before the limit */
                        total: number;
                        groups: {
                            /**
                             * @description exact: every member is an exact copy of the kept one
                             * @enum {string}
                             */
                            kind: "exact" | "near";
                            /** @description the suggested image to keep: the most pixels, then the most metadata, then the oldest */
                            keep: number;
                            /** @description the image to keep first, then the others by falling score */
                            members: {
                                id: number;
                                label: string | null;
                                /** @description file path relative to the indexed folder, or the uploaded file name */
                                source: string | null;
                                width: number;
                                height: number;
                                bytes: number;
                                sha256: string;
                                addedAt: string;
                                /** @description when the photo was taken, ISO 8601: with its offset when EXIF gives one, else a local time without one (see takenFrom) */
                                takenAt: string;
                                /**
                                 * @description where takenAt comes from: EXIF DateTimeOriginal, the file's modification time (index builder), the time of upload (no EXIF date), or when it was added (a row from before metadata; npm run index -- <folder> reads its file again)
                                 * @enum {string}
                                 */
                                takenFrom: "exif" | "file" | "upload" | "added";
                                cameraMake: string | null;
                                cameraModel: string | null;
                                lens: string | null;
                                /** @description GPS position from EXIF, degrees */
                                latitude: number | null;
                                longitude: number | null;
                                thumbnailUrl: string;
                                /** @description cosine similarity to the image to keep (1 for itself) */
                                score: number;
                                /** @description the same pixels as the image to keep: the same vector at the same width and height */
                                exact: boolean;
                            }[];
                            /** @description cosine similarity of every member to every other, in the members' order (the scores against another keeper) */
                            similarities: number[][];
                        }[];
                        tookMs: number;
                    };
                };
            };
            /** @description invalid_request: a bad field or parameter; a malformed id (an image id is decimal digits, nothing else); a path that is not valid URL encoding; a page cursor this server did not give, or of another sort, or of another query or filters; `sort=date` without `minScore`, or with over 10000 results above it; a JSON key `__proto__` (or `constructor.prototype`); a request line or header that is not valid HTTP; missing_image: no file; wrong_field: the file in another field than `image` (search: a file field that no `positive` or `negative` item names); invalid_multipart: a multipart body that does not parse: no boundary, a wrong one, garbage, cut short; invalid_json: a JSON body, or a form part sent as `application/json`, that does not parse; empty_body: a JSON content type with no body; prompt_too_long: the prompt (images included; a describe's kept history too) does not fit the text model's context; too_many_classes: few-shot `classes` over `LOOKALIKE_FEWSHOT_MAX_CLASSES`; too_many_examples: few-shot `examples` over `LOOKALIKE_FEWSHOT_MAX_EXAMPLES` per class */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description rate_limited: over `LOOKALIKE_RATE_LIMIT` requests a minute (every route but /livez, /readyz and /metrics, when set) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description loading: the model and gallery are still loading (with Retry-After); startup_failed: the service failed to start (an app built with `buildApp()`: `npm start` exits with code 1 instead) (with Retry-After); busy: the encoder queue is full (`LOOKALIKE_QUEUE_SIZE`); Retry-After is the queue's length times the recent time per request. Duplicates: a scan at another threshold is under way; Retry-After is the last scan's time left (with Retry-After); workers_busy: with `LOOKALIKE_QUERY_ENCODER=queue`: no worker answered within `LOOKALIKE_QUERY_TIMEOUT_MS` (with Retry-After); worker_model_mismatch: with `queue`: a worker of another model answered (no Retry-After: waiting does not mend it); queue_unavailable: Redis, the job queue, is down or did not answer within 3 s: adds, job states and queries sent to workers (an add that waited the 3 s names its job: it may still be stored) (with Retry-After); closed: `/api/health` while the service shuts down (with Retry-After); not_ready: `/readyz`: not ready for traffic; `missing` names what: `models`, `index`, `startup` (a start-up task, or a failed start), `redis` (queue mode), `shutdown` (with Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
        };
    };
    resolveDuplicates: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    keep: number;
                    others: number[];
                    /**
                     * @description delete: the others go to the trash; relabel: they take "label" and stay
                     * @enum {string}
                     */
                    action: "delete" | "relabel";
                    /** @description with relabel: the others' new label (null clears it) */
                    label?: string | null;
                };
            };
        };
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        kept: number;
                        deleted: number[];
                        relabelled: number[];
                    };
                };
            };
            /** @description invalid_request: a bad field or parameter; a malformed id (an image id is decimal digits, nothing else); a path that is not valid URL encoding; a page cursor this server did not give, or of another sort, or of another query or filters; `sort=date` without `minScore`, or with over 10000 results above it; a JSON key `__proto__` (or `constructor.prototype`); a request line or header that is not valid HTTP; missing_image: no file; wrong_field: the file in another field than `image` (search: a file field that no `positive` or `negative` item names); invalid_multipart: a multipart body that does not parse: no boundary, a wrong one, garbage, cut short; invalid_json: a JSON body, or a form part sent as `application/json`, that does not parse; empty_body: a JSON content type with no body; prompt_too_long: the prompt (images included; a describe's kept history too) does not fit the text model's context; too_many_classes: few-shot `classes` over `LOOKALIKE_FEWSHOT_MAX_CLASSES`; too_many_examples: few-shot `examples` over `LOOKALIKE_FEWSHOT_MAX_EXAMPLES` per class */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description unauthorized: this route needs `Authorization: Bearer <LOOKALIKE_API_KEY>` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description forbidden: a wrong key; writes_disabled: a change, on a server listening beyond loopback without `LOOKALIKE_API_KEY`; metrics_disabled: `/metrics` on a server listening beyond loopback without a key */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description not_found: no image (or job, or route) with this id */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description no_text_model: describe or re-rank without the model for it (`LOOKALIKE_TEXT_MODEL`, `LOOKALIKE_RERANK_MODEL`); text_search_unavailable: words without an embedding model (`LOOKALIKE_EMBED_MODEL`); no_captions: `mode=keyword` or `mode=hybrid` on a gallery that was never captioned (`LOOKALIKE_CAPTIONS=on`, or `npm run captions`); resolve_conflict: a duplicates resolve naming an image in the trash: deleted, or chosen to go by an overlapping resolve that came first (the message names it); nothing was changed; no_job_queue: a job asked of a server without Redis (`LOOKALIKE_REDIS_URL`) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description bad_image: empty, not an image, truncated; not_multipart: an upload route sent something else (a raw `image/jpeg` body included); unsupported_media_type: a JSON route sent something else */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description rate_limited: over `LOOKALIKE_RATE_LIMIT` requests a minute (every route but /livez, /readyz and /metrics, when set) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description loading: the model and gallery are still loading (with Retry-After); startup_failed: the service failed to start (an app built with `buildApp()`: `npm start` exits with code 1 instead) (with Retry-After); busy: the encoder queue is full (`LOOKALIKE_QUEUE_SIZE`); Retry-After is the queue's length times the recent time per request. Duplicates: a scan at another threshold is under way; Retry-After is the last scan's time left (with Retry-After); workers_busy: with `LOOKALIKE_QUERY_ENCODER=queue`: no worker answered within `LOOKALIKE_QUERY_TIMEOUT_MS` (with Retry-After); worker_model_mismatch: with `queue`: a worker of another model answered (no Retry-After: waiting does not mend it); queue_unavailable: Redis, the job queue, is down or did not answer within 3 s: adds, job states and queries sent to workers (an add that waited the 3 s names its job: it may still be stored) (with Retry-After); closed: `/api/health` while the service shuts down (with Retry-After); not_ready: `/readyz`: not ready for traffic; `missing` names what: `models`, `index`, `startup` (a start-up task, or a failed start), `redis` (queue mode), `shutdown` (with Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description disk_full: a change, on a full disk: it was not made, and searches and reads go on; index_out_of_memory: an add the index cannot take in this memory (a `flat` or `hnsw` array doubles as it grows): the image was not stored; searches go on */
            507: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
        };
    };
    downloadThumbnails: {
        parameters: {
            query: {
                /** @description image ids separated by commas, 1 to 500 */
                ids: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description application/zip bytes */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": unknown;
                };
            };
            /** @description invalid_request: a bad field or parameter; a malformed id (an image id is decimal digits, nothing else); a path that is not valid URL encoding; a page cursor this server did not give, or of another sort, or of another query or filters; `sort=date` without `minScore`, or with over 10000 results above it; a JSON key `__proto__` (or `constructor.prototype`); a request line or header that is not valid HTTP; missing_image: no file; wrong_field: the file in another field than `image` (search: a file field that no `positive` or `negative` item names); invalid_multipart: a multipart body that does not parse: no boundary, a wrong one, garbage, cut short; invalid_json: a JSON body, or a form part sent as `application/json`, that does not parse; empty_body: a JSON content type with no body; prompt_too_long: the prompt (images included; a describe's kept history too) does not fit the text model's context; too_many_classes: few-shot `classes` over `LOOKALIKE_FEWSHOT_MAX_CLASSES`; too_many_examples: few-shot `examples` over `LOOKALIKE_FEWSHOT_MAX_EXAMPLES` per class */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description not_found: no image (or job, or route) with this id */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description rate_limited: over `LOOKALIKE_RATE_LIMIT` requests a minute (every route but /livez, /readyz and /metrics, when set) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description loading: the model and gallery are still loading (with Retry-After); startup_failed: the service failed to start (an app built with `buildApp()`: `npm start` exits with code 1 instead) (with Retry-After); busy: the encoder queue is full (`LOOKALIKE_QUEUE_SIZE`); Retry-After is the queue's length times the recent time per request. Duplicates: a scan at another threshold is under way; Retry-After is the last scan's time left (with Retry-After); workers_busy: with `LOOKALIKE_QUERY_ENCODER=queue`: no worker answered within `LOOKALIKE_QUERY_TIMEOUT_MS` (with Retry-After); worker_model_mismatch: with `queue`: a worker of another model answered (no Retry-After: waiting does not mend it); queue_unavailable: Redis, the job queue, is down or did not answer within 3 s: adds, job states and queries sent to workers (an add that waited the 3 s names its job: it may still be stored) (with Retry-After); closed: `/api/health` while the service shuts down (with Retry-After); not_ready: `/readyz`: not ready for traffic; `missing` names what: `models`, `index`, `startup` (a start-up task, or a failed start), `redis` (queue mode), `shutdown` (with Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
        };
    };
    listTrash: {
        parameters: {
            query?: {
                limit?: number;
                /** @description the "next" of the page before */
                cursor?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        images: {
                            id: number;
                            label: string | null;
                            /** @description file path relative to the indexed folder, or the uploaded file name */
                            source: string | null;
                            width: number;
                            height: number;
                            bytes: number;
                            sha256: string;
                            addedAt: string;
                            /** @description when the photo was taken, ISO 8601: with its offset when EXIF gives one, else a local time without one (see takenFrom) */
                            takenAt: string;
                            /**
                             * @description where takenAt comes from: EXIF DateTimeOriginal, the file's modification time (index builder), the time of upload (no EXIF date), or when it was added (a row from before metadata; npm run index -- <folder> reads its file again)
                             * @enum {string}
                             */
                            takenFrom: "exif" | "file" | "upload" | "added";
                            cameraMake: string | null;
                            cameraModel: string | null;
                            lens: string | null;
                            /** @description GPS position from EXIF, degrees */
                            latitude: number | null;
                            longitude: number | null;
                            thumbnailUrl: string;
                            /** @description when it was deleted, ISO 8601 */
                            trashedAt: string;
                            /** @description when it leaves the trash for good (trashedAt + LOOKALIKE_TRASH_DAYS) */
                            expiresAt: string;
                        }[];
                        /** @description images in the trash */
                        total: number;
                        trashDays: number;
                        /** @description the cursor of the next page, or null on the last */
                        next: string | null;
                    };
                };
            };
            /** @description invalid_request: a bad field or parameter; a malformed id (an image id is decimal digits, nothing else); a path that is not valid URL encoding; a page cursor this server did not give, or of another sort, or of another query or filters; `sort=date` without `minScore`, or with over 10000 results above it; a JSON key `__proto__` (or `constructor.prototype`); a request line or header that is not valid HTTP; missing_image: no file; wrong_field: the file in another field than `image` (search: a file field that no `positive` or `negative` item names); invalid_multipart: a multipart body that does not parse: no boundary, a wrong one, garbage, cut short; invalid_json: a JSON body, or a form part sent as `application/json`, that does not parse; empty_body: a JSON content type with no body; prompt_too_long: the prompt (images included; a describe's kept history too) does not fit the text model's context; too_many_classes: few-shot `classes` over `LOOKALIKE_FEWSHOT_MAX_CLASSES`; too_many_examples: few-shot `examples` over `LOOKALIKE_FEWSHOT_MAX_EXAMPLES` per class */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description rate_limited: over `LOOKALIKE_RATE_LIMIT` requests a minute (every route but /livez, /readyz and /metrics, when set) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description loading: the model and gallery are still loading (with Retry-After); startup_failed: the service failed to start (an app built with `buildApp()`: `npm start` exits with code 1 instead) (with Retry-After); busy: the encoder queue is full (`LOOKALIKE_QUEUE_SIZE`); Retry-After is the queue's length times the recent time per request. Duplicates: a scan at another threshold is under way; Retry-After is the last scan's time left (with Retry-After); workers_busy: with `LOOKALIKE_QUERY_ENCODER=queue`: no worker answered within `LOOKALIKE_QUERY_TIMEOUT_MS` (with Retry-After); worker_model_mismatch: with `queue`: a worker of another model answered (no Retry-After: waiting does not mend it); queue_unavailable: Redis, the job queue, is down or did not answer within 3 s: adds, job states and queries sent to workers (an add that waited the 3 s names its job: it may still be stored) (with Retry-After); closed: `/api/health` while the service shuts down (with Retry-After); not_ready: `/readyz`: not ready for traffic; `missing` names what: `models`, `index`, `startup` (a start-up task, or a failed start), `redis` (queue mode), `shutdown` (with Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
        };
    };
    getTrashThumbnail: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description image/webp bytes */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": unknown;
                };
            };
            /** @description invalid_request: a bad field or parameter; a malformed id (an image id is decimal digits, nothing else); a path that is not valid URL encoding; a page cursor this server did not give, or of another sort, or of another query or filters; `sort=date` without `minScore`, or with over 10000 results above it; a JSON key `__proto__` (or `constructor.prototype`); a request line or header that is not valid HTTP; missing_image: no file; wrong_field: the file in another field than `image` (search: a file field that no `positive` or `negative` item names); invalid_multipart: a multipart body that does not parse: no boundary, a wrong one, garbage, cut short; invalid_json: a JSON body, or a form part sent as `application/json`, that does not parse; empty_body: a JSON content type with no body; prompt_too_long: the prompt (images included; a describe's kept history too) does not fit the text model's context; too_many_classes: few-shot `classes` over `LOOKALIKE_FEWSHOT_MAX_CLASSES`; too_many_examples: few-shot `examples` over `LOOKALIKE_FEWSHOT_MAX_EXAMPLES` per class */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description not_found: no image (or job, or route) with this id */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description rate_limited: over `LOOKALIKE_RATE_LIMIT` requests a minute (every route but /livez, /readyz and /metrics, when set) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description loading: the model and gallery are still loading (with Retry-After); startup_failed: the service failed to start (an app built with `buildApp()`: `npm start` exits with code 1 instead) (with Retry-After); busy: the encoder queue is full (`LOOKALIKE_QUEUE_SIZE`); Retry-After is the queue's length times the recent time per request. Duplicates: a scan at another threshold is under way; Retry-After is the last scan's time left (with Retry-After); workers_busy: with `LOOKALIKE_QUERY_ENCODER=queue`: no worker answered within `LOOKALIKE_QUERY_TIMEOUT_MS` (with Retry-After); worker_model_mismatch: with `queue`: a worker of another model answered (no Retry-After: waiting does not mend it); queue_unavailable: Redis, the job queue, is down or did not answer within 3 s: adds, job states and queries sent to workers (an add that waited the 3 s names its job: it may still be stored) (with Retry-After); closed: `/api/health` while the service shuts down (with Retry-After); not_ready: `/readyz`: not ready for traffic; `missing` names what: `models`, `index`, `startup` (a start-up task, or a failed start), `redis` (queue mode), `shutdown` (with Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
        };
    };
    restoreTrash: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** @description these images of the trash (every one must be there, or nothing changes); none: all of it */
                    ids?: number[];
                };
            };
        };
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        restored: number[];
                    };
                };
            };
            /** @description invalid_request: a bad field or parameter; a malformed id (an image id is decimal digits, nothing else); a path that is not valid URL encoding; a page cursor this server did not give, or of another sort, or of another query or filters; `sort=date` without `minScore`, or with over 10000 results above it; a JSON key `__proto__` (or `constructor.prototype`); a request line or header that is not valid HTTP; missing_image: no file; wrong_field: the file in another field than `image` (search: a file field that no `positive` or `negative` item names); invalid_multipart: a multipart body that does not parse: no boundary, a wrong one, garbage, cut short; invalid_json: a JSON body, or a form part sent as `application/json`, that does not parse; empty_body: a JSON content type with no body; prompt_too_long: the prompt (images included; a describe's kept history too) does not fit the text model's context; too_many_classes: few-shot `classes` over `LOOKALIKE_FEWSHOT_MAX_CLASSES`; too_many_examples: few-shot `examples` over `LOOKALIKE_FEWSHOT_MAX_EXAMPLES` per class */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description unauthorized: this route needs `Authorization: Bearer <LOOKALIKE_API_KEY>` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description forbidden: a wrong key; writes_disabled: a change, on a server listening beyond loopback without `LOOKALIKE_API_KEY`; metrics_disabled: `/metrics` on a server listening beyond loopback without a key */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description not_found: no image (or job, or route) with this id */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description bad_image: empty, not an image, truncated; not_multipart: an upload route sent something else (a raw `image/jpeg` body included); unsupported_media_type: a JSON route sent something else */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description rate_limited: over `LOOKALIKE_RATE_LIMIT` requests a minute (every route but /livez, /readyz and /metrics, when set) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description loading: the model and gallery are still loading (with Retry-After); startup_failed: the service failed to start (an app built with `buildApp()`: `npm start` exits with code 1 instead) (with Retry-After); busy: the encoder queue is full (`LOOKALIKE_QUEUE_SIZE`); Retry-After is the queue's length times the recent time per request. Duplicates: a scan at another threshold is under way; Retry-After is the last scan's time left (with Retry-After); workers_busy: with `LOOKALIKE_QUERY_ENCODER=queue`: no worker answered within `LOOKALIKE_QUERY_TIMEOUT_MS` (with Retry-After); worker_model_mismatch: with `queue`: a worker of another model answered (no Retry-After: waiting does not mend it); queue_unavailable: Redis, the job queue, is down or did not answer within 3 s: adds, job states and queries sent to workers (an add that waited the 3 s names its job: it may still be stored) (with Retry-After); closed: `/api/health` while the service shuts down (with Retry-After); not_ready: `/readyz`: not ready for traffic; `missing` names what: `models`, `index`, `startup` (a start-up task, or a failed start), `redis` (queue mode), `shutdown` (with Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description disk_full: a change, on a full disk: it was not made, and searches and reads go on; index_out_of_memory: an add the index cannot take in this memory (a `flat` or `hnsw` array doubles as it grows): the image was not stored; searches go on */
            507: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
        };
    };
    emptyTrash: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** @description these images of the trash (every one must be there, or nothing changes); none: all of it */
                    ids?: number[];
                };
            };
        };
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        deleted: number;
                    };
                };
            };
            /** @description invalid_request: a bad field or parameter; a malformed id (an image id is decimal digits, nothing else); a path that is not valid URL encoding; a page cursor this server did not give, or of another sort, or of another query or filters; `sort=date` without `minScore`, or with over 10000 results above it; a JSON key `__proto__` (or `constructor.prototype`); a request line or header that is not valid HTTP; missing_image: no file; wrong_field: the file in another field than `image` (search: a file field that no `positive` or `negative` item names); invalid_multipart: a multipart body that does not parse: no boundary, a wrong one, garbage, cut short; invalid_json: a JSON body, or a form part sent as `application/json`, that does not parse; empty_body: a JSON content type with no body; prompt_too_long: the prompt (images included; a describe's kept history too) does not fit the text model's context; too_many_classes: few-shot `classes` over `LOOKALIKE_FEWSHOT_MAX_CLASSES`; too_many_examples: few-shot `examples` over `LOOKALIKE_FEWSHOT_MAX_EXAMPLES` per class */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description unauthorized: this route needs `Authorization: Bearer <LOOKALIKE_API_KEY>` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description forbidden: a wrong key; writes_disabled: a change, on a server listening beyond loopback without `LOOKALIKE_API_KEY`; metrics_disabled: `/metrics` on a server listening beyond loopback without a key */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description not_found: no image (or job, or route) with this id */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description bad_image: empty, not an image, truncated; not_multipart: an upload route sent something else (a raw `image/jpeg` body included); unsupported_media_type: a JSON route sent something else */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description rate_limited: over `LOOKALIKE_RATE_LIMIT` requests a minute (every route but /livez, /readyz and /metrics, when set) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
            /** @description loading: the model and gallery are still loading (with Retry-After); startup_failed: the service failed to start (an app built with `buildApp()`: `npm start` exits with code 1 instead) (with Retry-After); busy: the encoder queue is full (`LOOKALIKE_QUEUE_SIZE`); Retry-After is the queue's length times the recent time per request. Duplicates: a scan at another threshold is under way; Retry-After is the last scan's time left (with Retry-After); workers_busy: with `LOOKALIKE_QUERY_ENCODER=queue`: no worker answered within `LOOKALIKE_QUERY_TIMEOUT_MS` (with Retry-After); worker_model_mismatch: with `queue`: a worker of another model answered (no Retry-After: waiting does not mend it); queue_unavailable: Redis, the job queue, is down or did not answer within 3 s: adds, job states and queries sent to workers (an add that waited the 3 s names its job: it may still be stored) (with Retry-After); closed: `/api/health` while the service shuts down (with Retry-After); not_ready: `/readyz`: not ready for traffic; `missing` names what: `models`, `index`, `startup` (a start-up task, or a failed start), `redis` (queue mode), `shutdown` (with Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            code: string;
                            message: string;
                        };
                    };
                };
            };
        };
    };
}
