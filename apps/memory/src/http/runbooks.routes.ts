import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Db } from '@vigil/db';
import { parseRunbook } from '../domain/runbook.js';
import { ingestRunbook } from '../runbook-store.js';
import { searchKnowledge } from '../search.js';

const IngestBody = z.object({
  source: z.string().min(1).max(500).default('api'),
  markdown: z
    .string()
    .min(1)
    .max(512 * 1024),
});
const SearchBody = z.object({
  query: z.string().min(1).max(8192),
  limit: z.number().int().min(1).max(50).default(5),
  service: z.string().min(1).optional(),
  alertName: z.string().min(1).optional(),
});

/** `POST /runbooks` (idempotent by id and content) and `POST /search` (runbooks and past incidents). */
export function runbookRoutes(db: Db, clock: () => Date) {
  return async (app: FastifyInstance): Promise<void> => {
    app.post('/runbooks', async (request, reply) => {
      const body = IngestBody.safeParse(request.body ?? {});
      if (!body.success)
        return reply
          .code(400)
          .send({ error: 'invalid request', problems: body.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) });
      const parsed = parseRunbook(body.data.source, body.data.markdown);
      if (!parsed.ok) return reply.code(400).send({ error: 'invalid runbook', problems: parsed.problems });
      const outcome = await ingestRunbook(db, parsed.runbook);
      return reply.code(outcome === 'created' ? 201 : 200).send({ id: parsed.runbook.id, outcome });
    });

    app.post('/search', async (request, reply) => {
      const body = SearchBody.safeParse(request.body ?? {});
      if (!body.success)
        return reply
          .code(400)
          .send({ error: 'invalid request', problems: body.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) });
      const { query, limit, service, alertName } = body.data;
      return {
        matches: await searchKnowledge(db, { query, limit, ...(service ? { service } : {}), ...(alertName ? { alertName } : {}) }, clock()),
      };
    });
  };
}
