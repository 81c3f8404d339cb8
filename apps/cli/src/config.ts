import { z } from 'zod';
import { PREFIX_PATTERN, PREFIX_RULE } from '@vigil/events';
import { env, secret } from '@vigil/platform';

/** What the CLI reads from the environment. The event history lives in JetStream. */
export const cliConfig = {
  NATS_URL: secret(env.url(['nats', 'tls', 'ws', 'wss']).default('nats://127.0.0.1:4222')),
  VIGIL_SUBJECT_PREFIX: z.string().regex(PREFIX_PATTERN, PREFIX_RULE).optional(),
  ORCHESTRATOR_URL: env.url(['http', 'https']).default('http://127.0.0.1:7402'),
  MEMORY_URL: env.url(['http', 'https']).default('http://127.0.0.1:7404'),
  /** The caller's API token (one of the orchestrator's ORCHESTRATOR_API_TOKENS). */
  VIGIL_API_TOKEN: secret(z.string().optional()),
};
