import { describe, expect, it } from 'vitest';
import { silentLogger } from '@vigil/bus';
import { loadConfig } from '@vigil/platform';
import { memoryConfig } from '../config.js';
import { knowledgeSourcesFrom } from './sources.js';

const sourcesFor = (env: Record<string, string>) => knowledgeSourcesFrom(loadConfig(memoryConfig, env), silentLogger);

describe('knowledge sources from the configuration', () => {
  it('searches only the local runbooks by default, and Sanity and Senso when configured', () => {
    expect(sourcesFor({})).toEqual([]);
    const both = sourcesFor({ SANITY_PROJECT_ID: 'abc123', SANITY_API_TOKEN: 'sk', SENSO_API_KEY: 'tgr_x' });
    expect(both.map((s) => s.name)).toEqual(['sanity', 'senso']);
    expect(both.map((s) => typeof s.ingest)).toEqual(['undefined', 'function']);
  });

  it('refuses a half-configured source, naming the variable', () => {
    expect(() => sourcesFor({ SANITY_API_TOKEN: 'sk' })).toThrow(/SANITY_API_TOKEN is set but SANITY_PROJECT_ID is not/);
    expect(() => sourcesFor({ SENSO_INGEST_RUNBOOKS: 'true' })).toThrow(/SENSO_INGEST_RUNBOOKS is on but SENSO_API_KEY is not set/);
  });

  it('rejects an undated Sanity API version and a Senso URL that is not HTTP', () => {
    expect(() => loadConfig(memoryConfig, { SANITY_API_VERSION: '1' })).toThrow(/SANITY_API_VERSION: a dated API version/);
    expect(() => loadConfig(memoryConfig, { SENSO_BASE_URL: 'ftp://x' })).toThrow(/SENSO_BASE_URL/);
  });
});
