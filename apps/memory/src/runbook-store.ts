import { createHash } from 'node:crypto';
import type { Db } from '@vigil/db';
import type { ContextMatch } from '@vigil/events';
import { remedyOf, type Runbook, type RunbookFrontMatter } from './domain/runbook.js';

export type IngestOutcome = 'created' | 'updated' | 'unchanged';

const hashOf = (runbook: Runbook): string =>
  createHash('sha256')
    .update(JSON.stringify({ ...runbook, source: undefined }))
    .digest('hex');

/** Stores a runbook; idempotent by id and content hash (the same content twice changes nothing). */
export async function ingestRunbook(db: Db, runbook: Runbook): Promise<IngestOutcome> {
  const contentHash = hashOf(runbook);
  return db.transaction(async (tx) => {
    const existing = await tx.query<{ content_hash: string }>('SELECT content_hash FROM runbooks WHERE id = $1 FOR UPDATE', [runbook.id]);
    if (existing.rows[0]?.content_hash === contentHash) return 'unchanged';
    const labels = [...runbook.alerts, ...runbook.symptoms, ...runbook.tags, ...runbook.services].join(' ');
    const front: RunbookFrontMatter = {
      id: runbook.id,
      title: runbook.title,
      services: runbook.services,
      alerts: runbook.alerts,
      symptoms: runbook.symptoms,
      tags: runbook.tags,
      risk: runbook.risk,
      actions: runbook.actions,
      checks: runbook.checks,
    };
    await tx.query(
      `INSERT INTO runbooks (id, content_hash, title, services, alerts, front, source, document, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7,
         setweight(to_tsvector('english', $3), 'A') || setweight(to_tsvector('english', $8), 'B') || setweight(to_tsvector('english', $9), 'C'), now())
       ON CONFLICT (id) DO UPDATE SET content_hash = excluded.content_hash, title = excluded.title, services = excluded.services,
         alerts = excluded.alerts, front = excluded.front, source = excluded.source, document = excluded.document, updated_at = now()`,
      [
        runbook.id,
        contentHash,
        runbook.title,
        runbook.services,
        runbook.alerts,
        JSON.stringify(front),
        runbook.source,
        labels,
        runbook.body,
      ],
    );
    await tx.query('DELETE FROM runbook_sections WHERE runbook_id = $1', [runbook.id]);
    for (const [position, section] of runbook.sections.entries()) {
      await tx.query(
        `INSERT INTO runbook_sections (runbook_id, position, heading, line_start, line_end, body, document)
         VALUES ($1, $2, $3, $4, $5, $6,
           setweight(to_tsvector('english', $7), 'A') || setweight(to_tsvector('english', $3), 'B') || setweight(to_tsvector('english', $6), 'C'))`,
        [runbook.id, position, section.heading, section.lines[0], section.lines[1], section.text, `${runbook.title} ${labels}`],
      );
    }
    return existing.rows.length > 0 ? 'updated' : 'created';
  });
}

export interface SearchRequest {
  query: string;
  service?: string;
  alertName?: string;
  limit?: number;
}

interface Row {
  id: string;
  title: string;
  services: string[];
  alerts: string[];
  front: RunbookFrontMatter;
  coverage: number;
  heading: string | null;
  line_start: number | null;
  line_end: number | null;
  body: string | null;
}

/**
 * Full-text search over runbooks. The score is normalised to [0, 1] because the gate compares it
 * with a threshold: 0.45 × the share of the query's terms the runbook covers, 0.35 × an exact
 * alert-name match, 0.20 × a service match (0.10 for a runbook that names no service). Runbooks
 * for other services are left out. Each result cites the best-matching section and its lines.
 */
export async function searchRunbooks(db: Db, request: SearchRequest): Promise<ContextMatch[]> {
  const { rows } = await db.query<Row>(
    `WITH q AS (
       SELECT to_tsvector('english', $1) AS v,
              coalesce(nullif(array_to_string(tsvector_to_array(to_tsvector('english', $1)), ' | '), ''), 'zzzznomatch')::tsquery AS any_term
     ),
     scored AS (
       SELECT r.id, r.title, r.services, r.alerts, r.front,
              (SELECT count(*) FROM unnest(tsvector_to_array(q.v)) term WHERE term = ANY (tsvector_to_array(r.document)))::float
                / greatest(1, array_length(tsvector_to_array(q.v), 1)) AS coverage
       FROM runbooks r, q
       WHERE ($2::text IS NULL OR cardinality(r.services) = 0 OR $2 = ANY (r.services))
     )
     SELECT s.*, best.heading, best.line_start, best.line_end, best.body
     FROM scored s
     LEFT JOIN LATERAL (
       SELECT rs.heading, rs.line_start, rs.line_end, rs.body
       FROM runbook_sections rs, q
       WHERE rs.runbook_id = s.id
       ORDER BY ts_rank_cd(rs.document, q.any_term) DESC, rs.position
       LIMIT 1
     ) best ON true`,
    [request.query, request.service ?? null],
  );
  const scored = rows.map((row) => {
    const alertMatch =
      request.alertName !== undefined && row.alerts.some((a) => a.toLowerCase() === request.alertName?.toLowerCase()) ? 1 : 0;
    const serviceMatch = request.service !== undefined && row.services.includes(request.service) ? 1 : row.services.length === 0 ? 0.5 : 0;
    const score = Math.min(1, 0.45 * row.coverage + 0.35 * alertMatch + 0.2 * serviceMatch);
    const remedy = remedyOf(row.front);
    const match: ContextMatch = {
      citation: {
        documentId: row.id,
        kind: 'runbook',
        title: row.title,
        ...(row.heading ? { section: row.heading } : {}),
        ...(row.line_start !== null && row.line_end !== null ? { lines: [row.line_start, row.line_end] as [number, number] } : {}),
      },
      score: Math.round(score * 1000) / 1000,
      passage: (row.body ?? '').slice(0, 600),
      standing: 'runbook',
      ...(remedy ? { remedy } : {}),
    };
    return match;
  });
  return scored
    .filter((m) => m.score > 0)
    .sort((a, b) => b.score - a.score)
    .slice(0, request.limit ?? 5);
}
