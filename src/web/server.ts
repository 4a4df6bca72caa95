// `npm start`: the HTTP server on HOST:PORT (default 127.0.0.1:7860). SIGINT/SIGTERM close it cleanly, once, whether
// sent to node, to npm or to the whole process group: requests in flight finish, the index is saved, database and
// model are closed.
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from '../core/config.js';
import { exposed } from '../core/util/access.js';
import { closeOnSignal } from '../core/util/shutdown.js';
import { startTracing, stopTracing } from '../core/util/tracing.js';

let config;
try {
  config = loadConfig();
} catch (err) {
  process.stderr.write(`${err instanceof ConfigError ? err.message : String(err)}\n`);
  process.exit(2);
}
const tracing = await startTracing('lookalike'); // before the app: its requests are traced from the first
const app = await buildApp(config);
if (tracing) app.log.info(tracing);
closeOnSignal({ info: (m) => app.log.info(m), error: (err, m) => app.log.error({ err }, m) }, async () => {
  await app.close();
  await stopTracing(); // the last spans (the close's) are sent
  app.log.info(
    `closed: requests finished, ${app.runtime.indexSaved ? 'index saved' : 'index NOT saved (see above)'}, ` +
      `database and models closed`,
  );
});
try {
  const address = await app.listen({ port: config.PORT, host: config.HOST });
  app.log.info(`lookalike on ${address}/ (API docs at /docs); loading the model...`);
  if (exposed(config) && !config.LOOKALIKE_API_KEY) {
    app.log.warn(
      `listening on ${config.HOST} without LOOKALIKE_API_KEY: adding, relabelling and deleting images are refused ` +
        `(403). ` +
        'Set LOOKALIKE_API_KEY=<a long random string> to allow them with Authorization: Bearer <key>.',
    );
  }
} catch (err) {
  app.log.error(err);
  process.exit(1);
}
// A start that cannot succeed (missing model file, GPU asked for and absent, data folder of another model) stops the
// process with the reason and exit code 1, so that a supervisor (systemd, Docker, a person) sees it failed.
await app.runtime.start();
if (app.runtime.state.status === 'failed') {
  app.log.fatal(`lookalike could not start: ${app.runtime.state.failure.message}`);
  await app.close();
  process.exit(1);
}
