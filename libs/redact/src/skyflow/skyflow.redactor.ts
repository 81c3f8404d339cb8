import { VigilError } from '@vigil/errors';
import type { DetectOptions } from '../detectors.js';
import type { Redactor } from '../port.js';
import { redact } from '../redactor.js';
import { createSkyflowDetectClient } from './client.js';
import { applyVendorSpans, defaultSkyflowEntityTypes, spansFromResponse } from './map.js';

export interface SkyflowRedactorOptions {
  /** SKYFLOW_VAULT_ID: the vault whose Detect service is used. */
  vaultId: string;
  /** SKYFLOW_VAULT_URL: `https://{clusterId}.vault.skyflowapis.com`. Plain http only to a loopback host. */
  vaultURL: string;
  /** SKYFLOW_API_KEY (a secret): an API key or a bearer token, sent as `Authorization: Bearer …`. */
  apiKey: string;
  /** Detect entity types to ask for; default `defaultSkyflowEntityTypes` (people's data, no operational facts). */
  entityTypes?: readonly string[];
  /** One Detect call, in milliseconds; default 10 000. */
  timeoutMs?: number;
  /** Options of the local detectors, which always run first. */
  local?: DetectOptions;
}

/**
 * Local detectors first, Skyflow Detect on top (the union of both). Skyflow is sent the text with
 * the local placeholders already in it, so credentials and whatever the local detectors know
 * never leave the process; what Skyflow finds in the rest gets placeholders from the same vault.
 * Skyflow's own tokens are not used (`entity_only`, nothing is stored in the vault): the
 * placeholders and their values stay on our side.
 *
 * Fails closed: when Skyflow cannot answer (unreachable, timeout, 401, 429, 5xx, an answer that
 * does not fit the text), `redact` rejects with a `VigilError` (`SKYFLOW_*`), and the caller
 * sends nothing to a model.
 */
export function createSkyflowRedactor(options: SkyflowRedactorOptions): Redactor {
  const settings = checkOptions(options);
  const client = createSkyflowDetectClient({ vaultURL: settings.vaultURL, apiKey: options.apiKey, timeoutMs: settings.timeoutMs });
  const entityTypes = [...(options.entityTypes ?? defaultSkyflowEntityTypes)];
  if (options.local?.redactIpAddresses && !entityTypes.includes('ip_address')) entityTypes.push('ip_address');
  const requested = new Set(entityTypes);
  return {
    name: 'local+skyflow',
    async redact(text, vault, callOptions = {}) {
      const local = redact(text, vault, options.local);
      // Skyflow refuses an empty text, and a blank one has nothing to find.
      if (!/\S/.test(local.text)) return local;
      const body = await client.deidentifyString(
        { vault_id: options.vaultId, text: local.text, entity_types: entityTypes, token_type: { default: 'entity_only' } },
        callOptions.signal,
      );
      return applyVendorSpans(local, spansFromResponse(local.text, body, requested), vault);
    },
  };
}

const loopback = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

function checkOptions(options: SkyflowRedactorOptions): { vaultURL: string; timeoutMs: number } {
  const problems: string[] = [];
  if (typeof options.vaultId !== 'string' || !/^[A-Za-z0-9_-]+$/.test(options.vaultId))
    problems.push('vaultId (SKYFLOW_VAULT_ID) must be a vault id: letters, digits, - and _');
  if (typeof options.apiKey !== 'string' || options.apiKey.trim() === '' || /\s/.test(options.apiKey))
    problems.push('apiKey (SKYFLOW_API_KEY) must be a non-empty key or token without spaces');
  let url: URL | undefined;
  try {
    url = new URL(options.vaultURL);
  } catch {
    problems.push('vaultURL (SKYFLOW_VAULT_URL) must be a URL such as https://CLUSTER_ID.vault.skyflowapis.com');
  }
  if (url && url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback.test(url.hostname)))
    problems.push('vaultURL (SKYFLOW_VAULT_URL) must use https (plain http only to a loopback host): the key travels with every call');
  if (url && (url.username || url.password || url.search || url.hash))
    problems.push('vaultURL (SKYFLOW_VAULT_URL) must not carry credentials, a query or a fragment');
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) problems.push('timeoutMs must be a positive whole number of milliseconds');
  if (options.entityTypes !== undefined && (options.entityTypes.length === 0 || options.entityTypes.some((t) => !/^[a-z_]+$/.test(t))))
    problems.push('entityTypes must be Skyflow Detect entity types in lower case, e.g. name, email_address');
  if (problems.length > 0 || !url)
    throw new VigilError('SKYFLOW_CONFIG_INVALID', `Skyflow redaction is misconfigured: ${problems.join('; ')}`);
  return { vaultURL: url.href, timeoutMs };
}
