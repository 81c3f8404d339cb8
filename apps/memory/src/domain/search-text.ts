/**
 * Text preparation for runbook search, shared by ingestion and queries so both sides split the same
 * way. Alert names and metric names are compound identifiers (`KubePodCrashLooping`,
 * `postgresql.percent_usage_connections`, `OOMKilled`) that Postgres' parser keeps whole or splits
 * only in part; their words are what a runbook written in prose shares with them.
 */

/** A token with a lower→upper case change, an underscore, a dot or a colon between word characters. */
const COMPOUND = /[A-Za-z0-9]+(?:[._:/-][A-Za-z0-9]+)+|[A-Za-z0-9]*[a-z0-9][A-Z][A-Za-z0-9]*|[A-Z]{2,}[a-z][A-Za-z0-9]*/g;

/** The words of one compound identifier: `PostgreSQLHighLockWaits` → `Postgre SQL High Lock Waits`. */
export function identifierWords(identifier: string): string {
  return identifier
    .replace(/[._:/-]+/g, ' ')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .trim();
}

/**
 * The text with the words of every compound identifier appended (the original stays, so an exact
 * identifier still matches itself).
 */
export function withIdentifierWords(text: string): string {
  const extra = new Set<string>();
  for (const token of text.match(COMPOUND) ?? []) {
    const words = identifierWords(token);
    if (words !== token) extra.add(words);
  }
  return extra.size === 0 ? text : `${text}\n${[...extra].join(' ')}`;
}
