// Prometheus metrics (prom-client), one registry per process: the server's requests, encodes, admission queue, jobs
// and gallery; a worker's jobs and encodes. Values that live elsewhere (gallery size, job counts) are read when
// Prometheus scrapes, through the `collect` callbacks a process registers.
import client from 'prom-client';

export class Metrics {
  readonly registry = new client.Registry();
  readonly httpRequests = new client.Counter({
    name: 'lookalike_http_requests_total',
    help: 'HTTP requests by route, method and status',
    labelNames: ['route', 'method', 'status'],
    registers: [this.registry],
  });
  readonly httpDuration = new client.Histogram({
    name: 'lookalike_http_request_duration_seconds',
    help: 'HTTP request latency by route and method',
    labelNames: ['route', 'method'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  readonly encodeDuration = new client.Histogram({
    name: 'lookalike_encode_duration_seconds',
    help: 'Time to embed one input (decoded image or text) by the model, by what',
    labelNames: ['input'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 40, 80, 160],
    registers: [this.registry],
  });
  readonly queueRejections = new client.Counter({
    name: 'lookalike_admission_rejections_total',
    help: 'Requests turned away with 503 busy because the encoder queue was full',
    registers: [this.registry],
  });
  readonly jobsProcessed = new client.Counter({
    name: 'lookalike_worker_jobs_total',
    help: 'Encode jobs a worker finished, by outcome',
    labelNames: ['outcome'],
    registers: [this.registry],
  });

  constructor(defaults = true) {
    if (defaults) client.collectDefaultMetrics({ register: this.registry, prefix: 'lookalike_' });
  }

  /** A gauge whose value is read when Prometheus scrapes. */
  gauge(
    name: string,
    help: string,
    read: () => Promise<number | Record<string, number>> | number | Record<string, number>,
    labelName?: string,
  ): void {
    new client.Gauge({
      name,
      help,
      labelNames: labelName ? [labelName] : [],
      registers: [this.registry],
      async collect() {
        const value = await read();
        this.reset();
        if (typeof value === 'number') this.set(value);
        else for (const [label, v] of Object.entries(value)) this.set({ [labelName!]: label }, v);
      },
    });
  }

  /** Times an async step into a histogram. */
  async time<T>(histogram: client.Histogram<'input'>, input: string, step: () => Promise<T>): Promise<T> {
    const end = histogram.startTimer({ input });
    try {
      return await step();
    } finally {
      end();
    }
  }

  async text(): Promise<string> {
    // prom-client writes NaN as "Nan" (the event loop lag before its first sample), which the format does not take
    return (await this.registry.metrics()).replace(/ Nan$/gm, ' NaN');
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
