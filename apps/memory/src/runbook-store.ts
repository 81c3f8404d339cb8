import { createHash } from 'node:crypto';
import type { Db } from '@vigil/db';
import type { ContextMatch } from '@vigil/events';
import { remedyOf, type Runbook, type RunbookFrontMatter } from './domain/runbook.js';
import { identifierWords, withIdentifierWords } from './domain/search-text.js';

export type IngestOutcome = 'created' | 'updated' | 'unchanged';

/**
 * Bumped whenever the way a runbook's search document is built changes: it is part of the content
 * hash, so the next ingestion rebuilds the documents of runbooks stored before the change.
 */
const DOCUMENT_VERSION = 2;

const hashOf = (runbook: Runbook): string =>
  createHash('sha256')
    .update(JSON.stringify({ ...runbook, source: undefined, documentVersion: DOCUMENT_VERSION }))
    .digest('hex');

/** What a runbook is labelled with (weight B): alert names (and their words), symptoms, tags, services. */
const labelsOf = (runbook: Runbook): string =>
  [...runbook.alerts, ...runbook.alerts.map(identifierWords), ...runbook.symptoms, ...runbook.tags, ...runbook.services].join(' ');

/** Stores a runbook; idempotent by id and content hash (the same content twice changes nothing). */
export async function ingestRunbook(db: Db, runbook: Runbook): Promise<IngestOutcome> {
  const contentHash = hashOf(runbook);
  return db.transaction(async (tx) => {
    const existing = await tx.query<{ content_hash: string }>('SELECT content_hash FROM runbooks WHERE id = $1 FOR UPDATE', [runbook.id]);
    if (existing.rows[0]?.content_hash === contentHash) return 'unchanged';
    const labels = labelsOf(runbook);
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
  front: RunbookFrontMatter;
  text: number;
  alert_match: boolean;
  service_match: number;
  heading: string | null;
  line_start: number | null;
  line_end: number | null;
  body: string | null;
}

/** Words of the alert name count this many times as much as words of the free text. */
const ALERT_WORD_BOOST = 2;
/** A term found only in a runbook's body counts this share of one found in its title or labels. */
const BODY_ONLY_SHARE = 0.5;

/**
 * Full-text search over runbooks. The score is normalised to [0, 1] because the gate compares it
 * with a threshold: 0.45 × how much of the query the runbook explains, 0.35 × an exact alert-name
 * match, 0.20 × a service match (0.10 for a runbook that names no service). Runbooks for other
 * services are left out. Each result cites the best-matching section and its lines.
 *
 * "How much of the query the runbook explains" weighs each query term by its rarity in the library
 * (BM25's inverse document frequency: `pool` tells more than `service`), in full when the runbook
 * names it in its title, alerts, symptoms or tags and by half when only its body does, over the
 * weight of every query term the library knows (a pid or a table name no runbook mentions cannot
 * be explained by any, so it does not lower every score alike). Words of compound identifiers
 * (alert and metric names) are matched as words too; those of the alert name count double.
 *
 * Only runbooks that share a discriminating term with the query (one found in at most half the
 * library) or carry the alert name are scored: words every runbook shares cannot change the order,
 * and leaving them out keeps a search over 10k runbooks to a few index look-ups per term.
 */
export async function searchRunbooks(db: Db, request: SearchRequest): Promise<ContextMatch[]> {
  const alertName = request.alertName ?? '';
  const { rows } = await db.query<Row>(
    `WITH terms AS (
       SELECT quote_literal(lexeme)::tsquery AS anywhere, (quote_literal(lexeme) || ':AB')::tsquery AS labelled, max(boost) AS boost
       FROM (SELECT unnest(tsvector_to_array(to_tsvector('english', $1))) AS lexeme, 1.0::float AS boost
             UNION ALL
             SELECT unnest(tsvector_to_array(to_tsvector('english', $2))), $5::float) t
       GROUP BY lexeme
     ),
     library AS (SELECT count(*)::float AS size FROM runbooks),
     weighted AS MATERIALIZED (
       SELECT t.anywhere, t.labelled, t.boost * ln(1 + (library.size - df.n + 0.5) / (df.n + 0.5)) AS weight,
              df.n * 2 <= library.size AS discriminating
       FROM terms t, library, LATERAL (SELECT count(*)::float AS n FROM runbooks r WHERE r.document @@ t.anywhere) df
       WHERE df.n > 0
     ),
     query AS (
       SELECT sum(weight) AS weight,
              coalesce(string_agg(anywhere::text, ' | ') FILTER (WHERE discriminating), string_agg(anywhere::text, ' | '))::tsquery AS candidates,
              string_agg(anywhere::text, ' | ')::tsquery AS anyterm
       FROM weighted
     ),
     -- Runbooks that carry the alert name, whatever the words: found through the index on its words.
     alerted AS (
       SELECT coalesce(array_agg(r.id), '{}') AS ids FROM runbooks r
       WHERE $7 <> '' AND r.document @@ plainto_tsquery('english', $7) AND EXISTS (SELECT 1 FROM unnest(r.alerts) a WHERE lower(a) = lower($7))
     ),
     scored AS (
       SELECT r.id,
              coalesce((SELECT sum(w.weight * CASE WHEN r.document @@ w.labelled THEN 1 ELSE $6::float END) FROM weighted w WHERE r.document @@ w.anywhere)
                / nullif(query.weight, 0), 0) AS text,
              EXISTS (SELECT 1 FROM unnest(r.alerts) a WHERE lower(a) = lower($7)) AS alert_match,
              CASE WHEN $3 = ANY (r.services) THEN 1 WHEN cardinality(r.services) = 0 THEN 0.5 ELSE 0 END AS service_match
       FROM query, alerted, runbooks r
       WHERE (r.document @@ query.candidates OR r.id = ANY (alerted.ids))
         AND ($3::text IS NULL OR cardinality(r.services) = 0 OR $3 = ANY (r.services))
     )
     SELECT s.*, r.title, r.front, best.heading, best.line_start, best.line_end, best.body
     FROM (SELECT * FROM scored ORDER BY 0.45 * text + 0.35 * alert_match::int + 0.2 * service_match DESC, id LIMIT $4) s
     JOIN runbooks r ON r.id = s.id
     LEFT JOIN LATERAL (
       SELECT rs.heading, rs.line_start, rs.line_end, rs.body
       FROM runbook_sections rs, query
       WHERE rs.runbook_id = s.id
       ORDER BY ts_rank_cd(rs.document, query.anyterm) DESC, rs.position
       LIMIT 1
     ) best ON true`,
    [
      withIdentifierWords(request.query),
      withIdentifierWords(alertName),
      request.service ?? null,
      request.limit ?? 5,
      ALERT_WORD_BOOST,
      BODY_ONLY_SHARE,
      alertName,
    ],
  );
  return rows
    .map((row): ContextMatch => {
      const score = Math.min(1, 0.45 * row.text + 0.35 * (row.alert_match ? 1 : 0) + 0.2 * row.service_match);
      const remedy = remedyOf(row.front);
      return {
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
    })
    .filter((m) => m.score > 0)
    .sort((a, b) => b.score - a.score);
}
