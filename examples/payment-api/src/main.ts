import { buildApp } from './app.js';
import { ConfigError, loadConfig, type PaymentConfig } from './config.js';
import { createPgliteStore } from './pglite-store.js';
import { createPostgresStore } from './postgres-store.js';
import type { OrdersStore } from './store.js';

function openStore(config: PaymentConfig, onPoolError: (error: Error) => void): Promise<OrdersStore> {
  if (config.PAYMENT_DATABASE_URL === undefined) return createPgliteStore({ dataDir: config.PAYMENT_DATA_DIR });
  return createPostgresStore({
    url: config.PAYMENT_DATABASE_URL,
    poolMax: config.PAYMENT_DB_POOL,
    connectTimeoutMs: config.PAYMENT_DB_CONNECT_TIMEOUT_MS,
    idleTimeoutMs: config.PAYMENT_DB_IDLE_TIMEOUT_MS,
    statementTimeoutMs: config.PAYMENT_DB_STATEMENT_TIMEOUT_MS,
    healthLockTimeoutMs: config.PAYMENT_HEALTH_LOCK_TIMEOUT_MS,
    checkoutLockTimeoutMs: config.PAYMENT_CHECKOUT_LOCK_TIMEOUT_MS,
    onPoolError,
  });
}

function configOrExit(): PaymentConfig {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`payment-api: ${error.message}\n`);
    process.exit(78); // EX_CONFIG
  }
}

const config = configOrExit();
// Pool errors can only be logged once the app (and its logger) exists; until then there is no idle connection to lose.
let logPoolError = (_error: Error): void => undefined;
let store: OrdersStore;
try {
  store = await openStore(config, (error) => logPoolError(error));
} catch (error) {
  process.stderr.write(`payment-api: cannot open the database: ${(error as Error).message}\n`);
  process.exit(1);
}
const app = buildApp({ store, logLevel: config.LOG_LEVEL });
logPoolError = (error) => app.log.warn({ err: error }, 'a pooled database connection ended');
const address = await app.listen({ host: config.PAYMENT_API_HOST, port: config.PAYMENT_API_PORT });
app.log.info({ address, database: store.kind, pool: config.PAYMENT_DB_POOL }, `payment-api listening; checkout at ${address}/checkout`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    app.log.info({ signal }, 'stopping');
    app
      .close()
      .then(() => process.exit(0))
      .catch(() => process.exit(1));
  });
}
