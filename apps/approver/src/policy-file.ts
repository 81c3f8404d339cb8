import { readFile } from 'node:fs/promises';
import { VigilError } from '@vigil/errors';
import { emptyPolicy, parsePolicy, type ApproverPolicy } from './domain/policy.js';

/** APPROVER_POLICY: a file (YAML or JSON), or inline JSON when it starts with `{`. A bad one stops start-up. */
export async function loadPolicy(source: string | undefined): Promise<ApproverPolicy> {
  if (!source) return emptyPolicy;
  const inline = source.trimStart().startsWith('{');
  try {
    return parsePolicy(inline ? source : await readFile(source, 'utf8'));
  } catch (error) {
    throw new VigilError('CONFIG_INVALID', `APPROVER_POLICY${inline ? '' : ` (${source})`}: ${(error as Error).message}`, {
      retryable: false,
      cause: error,
    });
  }
}

/** APPROVER_SLACK_CHANNELS: `service=channel` pairs. */
export function parseChannels(pairs: readonly string[]): Map<string, string> {
  const channels = new Map<string, string>();
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    const service = pair.slice(0, at).trim();
    const channel = pair.slice(at + 1).trim();
    if (at <= 0 || channel === '') {
      throw new VigilError('CONFIG_INVALID', `APPROVER_SLACK_CHANNELS: "${pair}" is not service=channel`, { retryable: false });
    }
    channels.set(service, channel);
  }
  return channels;
}
