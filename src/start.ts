// The server: config → deps → listen → graceful shutdown (started by main.ts once the runtime is known to fit).
import { ConfigError, loadConfig } from './config.js';
import { DataDirLockedError } from './db/data-dir-lock.js';
import { createDeps } from './deps.js';
import { createLogger } from './log.js';
import { RedisUnavailableError } from './modules/common/redis.js';
import { WrongSecretError } from './modules/token/signing-keys.js';
import { startTracing, stopTracing, traceLogMixin } from './ops/tracing.js';
import { listen } from './server.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`latchkey: invalid configuration: ${e.message}`);
      process.exit(2);
    }
    throw e;
  }
  await startTracing(config); // OTEL_EXPORTER_OTLP_ENDPOINT: before the router is built
  const log = createLogger(config.logLevel, undefined, traceLogMixin());
  const started = Date.now();
  const deps = await createDeps(config, log);
  const server = await listen(deps);
  log.info({ url: server.url, ms: Date.now() - started }, `latchkey listening on ${server.url} (gRPC, gRPC-web, Connect, REST)`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    await server.close();
    await deps.close();
    await stopTracing();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((e) => {
  // A second process on one DATA_DIR, an unreachable REDIS_URL or another SECRET than the database's
  // is an operator's mistake: the message, not a stack trace.
  const known = e instanceof DataDirLockedError || e instanceof RedisUnavailableError || e instanceof WrongSecretError;
  console.error('latchkey: failed to start:', known ? e.message : e);
  process.exit(1);
});
