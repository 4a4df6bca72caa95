// "Describe this image": the VL model answers a prompt about an upload, streamed as server-sent events.
// Generation stops when the client goes away; it waits in the same bounded queue as encoding.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DESCRIBE_TOKEN_LIMIT } from '../../core/config.js';
import { clientGone, eventStream } from '../http/client.js';
import type { ErrorCode } from '../../core/errors.js';
import { errorResponses } from '../http/errors.js';
import { History, HISTORY_FORM_LIMITS } from '../http/vlm-fields.js';
import { formInt, formNumber, formText, readUpload } from '../http/upload.js';
import { MAX_KEPT_TURNS, MAX_SEED } from '../../application/usecases/describe.js';

export const DEFAULT_DESCRIBE_PROMPT = 'Describe this image.';
export const DEMO_NOTE =
  'the demo text model is tiny and knows only Fashion-MNIST: it names which of its ten kinds of clothing, shoes ' +
  'and bags a picture shows, in English or Chinese, and nothing more; load a real VL model with ' +
  'LOOKALIKE_TEXT_MODEL';

const describe: FastifyPluginAsyncZod = async (app) => {
  const Fields = z.object({
    prompt: formText(4000).default(DEFAULT_DESCRIBE_PROMPT),
    maxTokens: formInt(1, DESCRIBE_TOKEN_LIMIT).optional(), // the use case's default: LOOKALIKE_DESCRIBE_MAX_TOKENS
    temperature: formNumber(0, 2).default(0),
    seed: formInt(0, MAX_SEED).optional(),
    history: History.optional(),
  });

  app.post(
    '/api/describe',
    {
      config: { form: Fields, formLimits: HISTORY_FORM_LIMITS, admitted: true },
      schema: {
        tags: ['vlm'],
        operationId: 'describeImage',
        security: [],
        consumes: ['multipart/form-data'],
        produces: ['text/event-stream'],
        summary: 'Answer a prompt about an uploaded image with the VL model, streamed as server-sent events',
        description:
          `multipart fields: image (file, required); prompt (default "Describe this image."); maxTokens ` +
          `(1-${DESCRIBE_TOKEN_LIMIT}, default LOOKALIKE_DESCRIBE_MAX_TOKENS); ` +
          `temperature (0-2, default 0: greedy, the same text every time); seed (0-${MAX_SEED}: with a temperature ` +
          `above 0 the same seed gives the same text; left out, a random one); ` +
          `history (the earlier turns about the same image, a JSON array of {role: user|assistant, text}, ` +
          `alternating from a question to its answer; the newest ${MAX_KEPT_TURNS} question-answer turns are ` +
          `kept, the oldest dropped first; the prompt is the new question). ` +
          'Events: `token` {text} as text is generated, then `done` {text, nTokens, nPromptTokens, stop, tookMs, ' +
          'keptTurns, droppedTurns, seed?, note?} (seed: the one sampled with, when temperature > 0; ' +
          'droppedTurns: history turns left out, oldest first), or `error` {code, message}. ' +
          'Errors before the first token are ordinary JSON errors (409 without a text model, 400 prompt_too_long ' +
          '(also when the kept history does not fit the context), 415, 503 busy).',
        response: { 200: z.any().describe('text/event-stream'), ...errorResponses(400, 409, 413, 415, 503) },
      },
    },
    async (req, reply) => {
      const started = performance.now();
      const { describe } = app.runtime.ready();
      describe.model(); // 409 before the upload is read
      const { image, fields } = await readUpload(req, Fields);
      const signal = clientGone(req, reply);
      const stream = eventStream(reply);
      const result = await describe
        .run({ image, ...fields, signal, onText: (text) => stream.send('token', { text }) })
        .catch((err: unknown) => {
          if (!stream.started) throw err; // nothing streamed yet: the usual JSON error
          const message = err instanceof Error ? err.message : String(err);
          stream.send('error', { code: 'generation_failed' satisfies ErrorCode, message });
          return null;
        });
      if (signal.aborted) {
        req.log.info('describe: the client went away, generation stopped');
        reply.raw.destroy(); // nobody is reading: do not keep the socket for keep-alive
        return;
      }
      // the demo's text model knows ten classes and two sentences: the answer says so
      const note = describe.demoModel ? DEMO_NOTE : undefined;
      if (result) stream.send('done', { ...result, tookMs: performance.now() - started, note });
      stream.end();
    },
  );
};
export default describe;
