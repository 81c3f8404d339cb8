/**
 * Turns a vendor's service label ("API Service", "payments/api") into a Vigil service name:
 * lower case, words joined by '-', only the characters the event contract allows.
 */
export function toServiceName(label: string | undefined, fallback = 'unknown'): string {
  const slug = (label ?? '')
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9._/-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[^a-z0-9]+|[-_./]+$/g, '')
    .slice(0, 120);
  return slug === '' ? fallback : slug;
}
