// "Describe this image": the VL model answers a prompt about an upload, streamed as server-sent events.
// Generation stops when the client goes away; it waits in the same bounded queue as encoding.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DESCRIBE_TOKEN_LIMIT } from '../config.js';
import { errorResponses } from '../http/errors.js';
import { formInt, formNumber, formText, readUpload } from '../http/upload.js';
import { MAX_SEED } from '../vlm/vision-language-model.js';
import { answerFollowUp, History, HISTORY_FORM_LIMITS, MAX_KEPT_TURNS } from '../vlm/conversation.js'; // follow-ups (issue 20): wiring

export const DEFAULT_DESCRIBE_PROMPT = 'Describe this image.';
export const DEMO_NOTE = 'the demo text model has random weights: this text is noise (often not even valid characters), not a description; load a real VL model with LOOKALIKE_TEXT_MODEL';

const describe: FastifyPluginAsyncZod = async (app) => {
  const Fields = z.object({
    prompt: formText(4000).default(DEFAULT_DESCRIBE_PROMPT),
    maxTokens: formInt(1, DESCRIBE_TOKEN_LIMIT).default(app.services.config.LOOKALIKE_DESCRIBE_MAX_TOKENS),
    temperature: formNumber(0, 2).default(0),
    seed: formInt(0, MAX_SEED).optional(),
    history: History.optional(), // follow-ups (issue 20): wiring
  });

  app.post('/api/describe', {
    config: { form: Fields, formLimits: HISTORY_FORM_LIMITS }, // follow-ups (issue 20): wiring
    schema: {
      tags: ['vlm'], operationId: 'describeImage', security: [], consumes: ['multipart/form-data'], produces: ['text/event-stream'],
      summary: 'Answer a prompt about an uploaded image with the VL model, streamed as server-sent events',
      description: `multipart fields: image (file, required); prompt (default "Describe this image."); maxTokens (1-${DESCRIBE_TOKEN_LIMIT}, default LOOKALIKE_DESCRIBE_MAX_TOKENS); ` +
        `temperature (0-2, default 0: greedy, the same text every time); seed (0-${MAX_SEED}: with a temperature above 0 the same seed gives the same text; left out, a random one); ` +
        `history (the earlier turns about the same image, a JSON array of {role: user|assistant, text}, alternating from a question to its answer; the newest ${MAX_KEPT_TURNS} question-answer turns are kept, the oldest dropped first; the prompt is the new question). ` +
        'Events: `token` {text} as text is generated, then `done` {text, nTokens, nPromptTokens, stop, tookMs, keptTurns, droppedTurns, seed?, note?} (seed: the one sampled with, when temperature > 0; droppedTurns: history turns left out, oldest first), or `error` {code, message}. ' +
        'Errors before the first token are ordinary JSON errors (409 without a text model, 400 prompt_too_long (also when the kept history does not fit the context), 415, 503 busy).',
      response: { 200: z.any().describe('text/event-stream'), ...errorResponses(400, 409, 413, 415, 503) },
    },
  }, async (req, reply) => {
    const started = performance.now();
    app.requireReady();
    const vlm = app.requireDescribe();
    app.services.admission.assertRoom(); // a full queue answers 503 before the upload is read
    const { image, fields } = await readUpload(req, Fields);
    const decoded = await vlm.decode(image);
    const gone = new AbortController();
    reply.raw.on('close', () => { if (!reply.raw.writableFinished) gone.abort(); });
    const send = (event: string, data: unknown) => reply.raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    const startStream = () => {
      if (reply.sent) return;
      reply.hijack(); // from here on the response is ours: errors become an `error` event
      reply.raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no', connection: 'close' });
    };
    const result = await app.services.admission.run(() => answerFollowUp(vlm, decoded, fields.history ?? [], fields.prompt, { // follow-ups (issue 20): wiring
      maxTokens: fields.maxTokens, temperature: fields.temperature, seed: fields.seed, signal: gone.signal,
      onText: (text) => { startStream(); send('token', { text }); },
    })).catch((err: unknown) => {
      if (!reply.sent) throw err; // nothing streamed yet: the usual JSON error
      send('error', { code: 'generation_failed', message: err instanceof Error ? err.message : String(err) });
      return null;
    });
    if (gone.signal.aborted) {
      req.log.info('describe: the client went away, generation stopped');
      reply.raw.destroy(); // nobody is reading: do not keep the socket for keep-alive
      return;
    }
    if (result) {
      startStream();
      // the demo's text model has random weights: its bytes are often not even valid UTF-8 (shown as U+FFFD)
      const note = app.services.config.LOOKALIKE_TEXT_MODEL === 'demo' ? DEMO_NOTE : undefined;
      send('done', { ...result, tookMs: performance.now() - started, note });
    }
    reply.raw.end();
  });
};
export default describe;
