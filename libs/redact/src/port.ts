import type { DetectOptions } from './detectors.js';
import { redact, type PlaceholderVault, type RedactionResult } from './redactor.js';

/**
 * The redaction port: text in, text with placeholders out, the values kept in the incident's
 * `PlaceholderVault`. Every implementation runs the local detectors; a vendor adapter adds what
 * they cannot see (names, postal addresses) on top. An implementation that cannot redact a text
 * rejects with a `VigilError`: it never hands the text back as it was.
 */
export interface Redactor {
  /** `local`, or `local+skyflow`. */
  readonly name: string;
  redact(text: string, vault: PlaceholderVault, options?: { signal?: AbortSignal }): Promise<RedactionResult>;
}

/** The embedded default: the local detectors only; no network, never fails. */
export function createLocalRedactor(options: DetectOptions = {}): Redactor {
  return {
    name: 'local',
    redact: (text, vault) => Promise.resolve(redact(text, vault, options)),
  };
}
