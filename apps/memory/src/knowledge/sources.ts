import type { BusLogger } from '@vigil/bus';
import { VigilError } from '@vigil/errors';
import type { KnowledgeSource } from './port.js';
import { createSanitySource } from './sanity.source.js';
import { createSensoSource } from './senso.source.js';

/** The configuration that picks the external knowledge sources (memory's config holds it). */
export interface KnowledgeConfig {
  SANITY_PROJECT_ID?: string | undefined;
  SANITY_DATASET: string;
  SANITY_API_TOKEN?: string | undefined;
  SANITY_API_HOST?: string | undefined;
  SANITY_API_VERSION: string;
  SANITY_DOCUMENT_TYPE: string;
  SANITY_STUDIO_URL?: string | undefined;
  SENSO_API_KEY?: string | undefined;
  SENSO_BASE_URL: string;
  SENSO_INGEST_RUNBOOKS: boolean;
}

/**
 * The external sources the configuration turns on: Sanity with a project id, Senso with a key.
 * A half-configured source (a token without a project, ingestion without a key) stops start-up,
 * naming the variable, rather than being silently ignored.
 */
export function knowledgeSourcesFrom(config: KnowledgeConfig, log: BusLogger): KnowledgeSource[] {
  const problems: string[] = [];
  if (!config.SANITY_PROJECT_ID) {
    for (const key of ['SANITY_API_TOKEN', 'SANITY_API_HOST', 'SANITY_STUDIO_URL'] as const)
      if (config[key]) problems.push(`${key} is set but SANITY_PROJECT_ID is not: set both to search Sanity`);
  }
  if (!config.SENSO_API_KEY && config.SENSO_INGEST_RUNBOOKS) problems.push('SENSO_INGEST_RUNBOOKS is on but SENSO_API_KEY is not set');
  if (problems.length > 0) throw new VigilError('CONFIG_INVALID', `invalid configuration:\n  ${problems.join('\n  ')}`);

  const sources: KnowledgeSource[] = [];
  if (config.SANITY_PROJECT_ID) {
    sources.push(
      createSanitySource({
        projectId: config.SANITY_PROJECT_ID,
        dataset: config.SANITY_DATASET,
        apiVersion: config.SANITY_API_VERSION,
        token: config.SANITY_API_TOKEN,
        apiHost: config.SANITY_API_HOST,
        documentType: config.SANITY_DOCUMENT_TYPE,
        studioUrl: config.SANITY_STUDIO_URL,
        log,
      }),
    );
  }
  if (config.SENSO_API_KEY) sources.push(createSensoSource({ apiKey: config.SENSO_API_KEY, baseUrl: config.SENSO_BASE_URL }));
  return sources;
}
