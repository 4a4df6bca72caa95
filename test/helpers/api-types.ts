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
         * @description multipart fields: image (file) or text (words; needs an embedding model); k (1-100, default 12); minScore (-1..1); label (only this class); classify (true: add the KNN result, same encode); rerank (true: re-order the top with the VL model or the reranker). Or a JSON body { "text": "...", "k": 12, ... } with the same fields.
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
         * @description multipart fields: image (file, required); k (neighbours that vote, default LOOKALIKE_KNN_K); labels (zero-shot classes, repeated or a JSON array, 2 to 1000, of which at most LOOKALIKE_ZEROSHOT_MAX_NEW_LABELS not embedded by an earlier request; needs an embedding model). With an embedding model and no labels, zero-shot uses the gallery's label names (when it has at least 2).
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
        get?: never;
        put?: never;
        /**
         * Add an image to the gallery (201); the same content again returns the existing id (200, duplicate: true); with workers (LOOKALIKE_REDIS_URL) 202 and a job
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
        /** Remove an image (204) */
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
         * @description multipart fields: image (file, required); prompt (default "Describe this image."); maxTokens (1-2048, default LOOKALIKE_DESCRIBE_MAX_TOKENS); temperature (0-2, default 0: greedy, the same text every time); seed (0-4294967294: with a temperature above 0 the same seed gives the same text; left out, a random one). Events: `token` {text} as text is generated, then `done` {text, nTokens, nPromptTokens, stop, tookMs, seed?, note?} (seed: the one sampled with, when temperature > 0), or `error` {code, message}. Errors before the first token are ordinary JSON errors (409 without a text model, 400 prompt_too_long, 415, 503 busy).
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
            /** @description rate_limited (when LOOKALIKE_RATE_LIMIT is set) */
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
                    /** @description words to search by, instead of an image (needs an embedding model: LOOKALIKE_EMBED_MODEL) */
                    text?: string;
                    /** @default 12 */
                    k?: number;
                    minScore?: number;
                    label?: string;
                    /** @enum {string} */
                    rerank?: "0" | "1" | "true" | "false" | "on";
                    /** @enum {string} */
                    classify?: "0" | "1" | "true" | "false" | "on";
                };
                "application/json": {
                    /**
                     * Format: binary
                     * @description the picture, in any format sharp decodes (JPEG, PNG, WebP, GIF, TIFF, AVIF, HEIF, SVG); at most LOOKALIKE_MAX_UPLOAD_MB
                     */
                    image?: string;
                    /** @description words to search by, instead of an image (needs an embedding model: LOOKALIKE_EMBED_MODEL) */
                    text?: string;
                    /** @default 12 */
                    k?: number;
                    minScore?: number;
                    label?: string;
                    /** @enum {string} */
                    rerank?: "0" | "1" | "true" | "false" | "on";
                    /** @enum {string} */
                    classify?: "0" | "1" | "true" | "false" | "on";
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
                            thumbnailUrl: string;
                            /** @description cosine similarity of the embeddings, -1..1 */
                            score: number;
                            /** @description P(yes) from the VL model, when re-ranked */
                            rerankScore?: number | null;
                        }[];
                        tookMs: number;
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
                        };
                        rerank?: {
                            reranked: number;
                            cached: number;
                            /** @description false: the time budget ran out; the rest kept its embedding order */
                            complete: boolean;
                            tookMs: number;
                        };
                    };
                };
            };
            /** @description invalid_request (a bad field, parameter or id), missing_image, wrong_field (the file in another field), invalid_multipart (a malformed multipart body), invalid_json (a JSON body or a JSON form part that does not parse), empty_body (a JSON content type with no body), prompt_too_long */
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
            /** @description no_text_model (describe needs the full VL model; re-ranking it or a reranker), text_search_unavailable (words need an embedding model), no_job_queue (no LOOKALIKE_REDIS_URL) */
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
            /** @description upload_too_large (over LOOKALIKE_MAX_UPLOAD_MB), image_too_large (over LOOKALIKE_MAX_PIXELS), too_many_files, too_many_fields, fields_too_large (the text fields hold too many bytes), too_many_new_labels (over LOOKALIKE_ZEROSHOT_MAX_NEW_LABELS zero-shot labels not embedded yet) */
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
            /** @description bad_image (empty, not an image, truncated), not_multipart, unsupported_media_type */
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
            /** @description rate_limited (when LOOKALIKE_RATE_LIMIT is set) */
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
            /** @description busy (the encoder queue is full), loading, startup_failed, workers_busy (no worker answered a query in time), each with Retry-After saying when to come back; worker_model_mismatch (a worker of another model answered a query); queue_unavailable (Redis, the job queue, is unreachable or did not answer in time; with Retry-After) */
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
                        /**
                         * @description which answer to go by: KNN when it answered with at least 3 neighbours of its class, else zero-shot
                         * @enum {string|null}
                         */
                        trusted: "knn" | "zero-shot" | null;
                        tookMs: number;
                    };
                };
            };
            /** @description invalid_request (a bad field, parameter or id), missing_image, wrong_field (the file in another field), invalid_multipart (a malformed multipart body), invalid_json (a JSON body or a JSON form part that does not parse), empty_body (a JSON content type with no body), prompt_too_long */
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
            /** @description no_text_model (describe needs the full VL model; re-ranking it or a reranker), text_search_unavailable (words need an embedding model), no_job_queue (no LOOKALIKE_REDIS_URL) */
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
            /** @description upload_too_large (over LOOKALIKE_MAX_UPLOAD_MB), image_too_large (over LOOKALIKE_MAX_PIXELS), too_many_files, too_many_fields, fields_too_large (the text fields hold too many bytes), too_many_new_labels (over LOOKALIKE_ZEROSHOT_MAX_NEW_LABELS zero-shot labels not embedded yet) */
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
            /** @description bad_image (empty, not an image, truncated), not_multipart, unsupported_media_type */
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
            /** @description rate_limited (when LOOKALIKE_RATE_LIMIT is set) */
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
            /** @description busy (the encoder queue is full), loading, startup_failed, workers_busy (no worker answered a query in time), each with Retry-After saying when to come back; worker_model_mismatch (a worker of another model answered a query); queue_unavailable (Redis, the job queue, is unreachable or did not answer in time; with Retry-After) */
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
                k?: number;
                minScore?: number;
                label?: string;
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
                            thumbnailUrl: string;
                            /** @description cosine similarity of the embeddings, -1..1 */
                            score: number;
                            /** @description P(yes) from the VL model, when re-ranked */
                            rerankScore?: number | null;
                        }[];
                        tookMs: number;
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
                        };
                        rerank?: {
                            reranked: number;
                            cached: number;
                            /** @description false: the time budget ran out; the rest kept its embedding order */
                            complete: boolean;
                            tookMs: number;
                        };
                    };
                };
            };
            /** @description invalid_request (a bad field, parameter or id), missing_image, wrong_field (the file in another field), invalid_multipart (a malformed multipart body), invalid_json (a JSON body or a JSON form part that does not parse), empty_body (a JSON content type with no body), prompt_too_long */
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
            /** @description not_found: no image (or job) with this id */
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
            /** @description rate_limited (when LOOKALIKE_RATE_LIMIT is set) */
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
            /** @description busy (the encoder queue is full), loading, startup_failed, workers_busy (no worker answered a query in time), each with Retry-After saying when to come back; worker_model_mismatch (a worker of another model answered a query); queue_unavailable (Redis, the job queue, is unreachable or did not answer in time; with Retry-After) */
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
            /** @description invalid_request (a bad field, parameter or id), missing_image, wrong_field (the file in another field), invalid_multipart (a malformed multipart body), invalid_json (a JSON body or a JSON form part that does not parse), empty_body (a JSON content type with no body), prompt_too_long */
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
            /** @description unauthorized: this route needs Authorization: Bearer <LOOKALIKE_API_KEY> */
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
            /** @description forbidden (wrong key), or writes_disabled (listening beyond loopback without a key); on /metrics: metrics_disabled (listening beyond loopback without a key) */
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
            /** @description upload_too_large (over LOOKALIKE_MAX_UPLOAD_MB), image_too_large (over LOOKALIKE_MAX_PIXELS), too_many_files, too_many_fields, fields_too_large (the text fields hold too many bytes), too_many_new_labels (over LOOKALIKE_ZEROSHOT_MAX_NEW_LABELS zero-shot labels not embedded yet) */
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
            /** @description bad_image (empty, not an image, truncated), not_multipart, unsupported_media_type */
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
            /** @description rate_limited (when LOOKALIKE_RATE_LIMIT is set) */
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
            /** @description busy (the encoder queue is full), loading, startup_failed, workers_busy (no worker answered a query in time), each with Retry-After saying when to come back; worker_model_mismatch (a worker of another model answered a query); queue_unavailable (Redis, the job queue, is unreachable or did not answer in time; with Retry-After) */
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
            /** @description disk_full: the disk holding the data folder is full, the change was not made (reads go on) */
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
            /** @description not_found: no image (or job) with this id */
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
            /** @description no_text_model (describe needs the full VL model; re-ranking it or a reranker), text_search_unavailable (words need an embedding model), no_job_queue (no LOOKALIKE_REDIS_URL) */
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
            /** @description rate_limited (when LOOKALIKE_RATE_LIMIT is set) */
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
            /** @description busy (the encoder queue is full), loading, startup_failed, workers_busy (no worker answered a query in time), each with Retry-After saying when to come back; worker_model_mismatch (a worker of another model answered a query); queue_unavailable (Redis, the job queue, is unreachable or did not answer in time; with Retry-After) */
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
                        thumbnailUrl: string;
                    };
                };
            };
            /** @description invalid_request (a bad field, parameter or id), missing_image, wrong_field (the file in another field), invalid_multipart (a malformed multipart body), invalid_json (a JSON body or a JSON form part that does not parse), empty_body (a JSON content type with no body), prompt_too_long */
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
            /** @description not_found: no image (or job) with this id */
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
            /** @description rate_limited (when LOOKALIKE_RATE_LIMIT is set) */
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
            /** @description busy (the encoder queue is full), loading, startup_failed, workers_busy (no worker answered a query in time), each with Retry-After saying when to come back; worker_model_mismatch (a worker of another model answered a query); queue_unavailable (Redis, the job queue, is unreachable or did not answer in time; with Retry-After) */
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
            /** @description invalid_request (a bad field, parameter or id), missing_image, wrong_field (the file in another field), invalid_multipart (a malformed multipart body), invalid_json (a JSON body or a JSON form part that does not parse), empty_body (a JSON content type with no body), prompt_too_long */
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
            /** @description unauthorized: this route needs Authorization: Bearer <LOOKALIKE_API_KEY> */
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
            /** @description forbidden (wrong key), or writes_disabled (listening beyond loopback without a key); on /metrics: metrics_disabled (listening beyond loopback without a key) */
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
            /** @description not_found: no image (or job) with this id */
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
            /** @description rate_limited (when LOOKALIKE_RATE_LIMIT is set) */
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
            /** @description busy (the encoder queue is full), loading, startup_failed, workers_busy (no worker answered a query in time), each with Retry-After saying when to come back; worker_model_mismatch (a worker of another model answered a query); queue_unavailable (Redis, the job queue, is unreachable or did not answer in time; with Retry-After) */
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
            /** @description disk_full: the disk holding the data folder is full, the change was not made (reads go on) */
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
                        thumbnailUrl: string;
                    };
                };
            };
            /** @description invalid_request (a bad field, parameter or id), missing_image, wrong_field (the file in another field), invalid_multipart (a malformed multipart body), invalid_json (a JSON body or a JSON form part that does not parse), empty_body (a JSON content type with no body), prompt_too_long */
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
            /** @description unauthorized: this route needs Authorization: Bearer <LOOKALIKE_API_KEY> */
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
            /** @description forbidden (wrong key), or writes_disabled (listening beyond loopback without a key); on /metrics: metrics_disabled (listening beyond loopback without a key) */
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
            /** @description not_found: no image (or job) with this id */
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
            /** @description bad_image (empty, not an image, truncated), not_multipart, unsupported_media_type */
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
            /** @description rate_limited (when LOOKALIKE_RATE_LIMIT is set) */
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
            /** @description busy (the encoder queue is full), loading, startup_failed, workers_busy (no worker answered a query in time), each with Retry-After saying when to come back; worker_model_mismatch (a worker of another model answered a query); queue_unavailable (Redis, the job queue, is unreachable or did not answer in time; with Retry-After) */
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
            /** @description disk_full: the disk holding the data folder is full, the change was not made (reads go on) */
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
            /** @description invalid_request (a bad field, parameter or id), missing_image, wrong_field (the file in another field), invalid_multipart (a malformed multipart body), invalid_json (a JSON body or a JSON form part that does not parse), empty_body (a JSON content type with no body), prompt_too_long */
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
            /** @description not_found: no image (or job) with this id */
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
            /** @description rate_limited (when LOOKALIKE_RATE_LIMIT is set) */
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
            /** @description busy (the encoder queue is full), loading, startup_failed, workers_busy (no worker answered a query in time), each with Retry-After saying when to come back; worker_model_mismatch (a worker of another model answered a query); queue_unavailable (Redis, the job queue, is unreachable or did not answer in time; with Retry-After) */
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
                        images: number;
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
            /** @description rate_limited (when LOOKALIKE_RATE_LIMIT is set) */
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
            /** @description busy (the encoder queue is full), loading, startup_failed, workers_busy (no worker answered a query in time), each with Retry-After saying when to come back; worker_model_mismatch (a worker of another model answered a query); queue_unavailable (Redis, the job queue, is unreachable or did not answer in time; with Retry-After) */
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
                    /** @default 256 */
                    maxTokens?: number;
                    /** @default 0 */
                    temperature?: number;
                    seed?: number;
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
            /** @description invalid_request (a bad field, parameter or id), missing_image, wrong_field (the file in another field), invalid_multipart (a malformed multipart body), invalid_json (a JSON body or a JSON form part that does not parse), empty_body (a JSON content type with no body), prompt_too_long */
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
            /** @description no_text_model (describe needs the full VL model; re-ranking it or a reranker), text_search_unavailable (words need an embedding model), no_job_queue (no LOOKALIKE_REDIS_URL) */
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
            /** @description upload_too_large (over LOOKALIKE_MAX_UPLOAD_MB), image_too_large (over LOOKALIKE_MAX_PIXELS), too_many_files, too_many_fields, fields_too_large (the text fields hold too many bytes), too_many_new_labels (over LOOKALIKE_ZEROSHOT_MAX_NEW_LABELS zero-shot labels not embedded yet) */
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
            /** @description bad_image (empty, not an image, truncated), not_multipart, unsupported_media_type */
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
            /** @description rate_limited (when LOOKALIKE_RATE_LIMIT is set) */
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
            /** @description busy (the encoder queue is full), loading, startup_failed, workers_busy (no worker answered a query in time), each with Retry-After saying when to come back; worker_model_mismatch (a worker of another model answered a query); queue_unavailable (Redis, the job queue, is unreachable or did not answer in time; with Retry-After) */
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
            /** @description unauthorized: this route needs Authorization: Bearer <LOOKALIKE_API_KEY> */
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
            /** @description forbidden (wrong key), or writes_disabled (listening beyond loopback without a key); on /metrics: metrics_disabled (listening beyond loopback without a key) */
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
            /** @description rate_limited (when LOOKALIKE_RATE_LIMIT is set) */
            429: {
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
}
