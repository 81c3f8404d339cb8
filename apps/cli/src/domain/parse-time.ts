const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * A point in time from the command line: an ISO-8601 timestamp (`2026-11-22T10:00:00Z`), or a
 * duration back from `now` (`90s`, `15m`, `2h`, `7d`). Returns undefined when it is neither.
 */
export function parseSince(text: string, now: Date = new Date()): Date | undefined {
  const relative = /^(\d+)\s*([smhdw])$/.exec(text.trim());
  if (relative) return new Date(now.getTime() - Number(relative[1]) * (UNITS[relative[2] as string] ?? 0));
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
