// A request's client, seen from a handler: whether it went away (work done for it can stop), and a response streamed
// to it as server-sent events.
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Aborted when the client goes away before the response is finished. */
export function clientGone(req: FastifyRequest, reply: FastifyReply): AbortSignal {
  const gone = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) gone.abort();
  });
  if (req.raw.socket?.destroyed) gone.abort(); // it left before we listened
  return gone.signal;
}

/** Server-sent events: the stream starts (200) with the first event; errors before it are ordinary JSON errors. */
export function eventStream(reply: FastifyReply) {
  const start = () => {
    if (reply.sent) return;
    reply.hijack(); // from here on the response is ours: errors become an `error` event
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
      connection: 'close',
    });
  };
  return {
    get started(): boolean {
      return reply.sent;
    },
    send(event: string, data: unknown): void {
      start();
      reply.raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    end(): void {
      reply.raw.end();
    },
  };
}
