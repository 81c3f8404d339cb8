/**
 * Every placeholder type: what the local detectors find, then what only a vendor detector
 * (Skyflow) adds — names, postal addresses, dates of birth, account numbers, user names, and
 * `PII` for any other personal attribute it reports.
 */
export const entityTypes = [
  'PRIVATE_KEY',
  'JWT',
  'AWS_ACCESS_KEY',
  'AWS_SECRET',
  'GITHUB_TOKEN',
  'SLACK_TOKEN',
  'STRIPE_KEY',
  'PASSWORD',
  'EMAIL',
  'CARD',
  'IBAN',
  'NATIONAL_ID',
  'PHONE',
  'IP_ADDRESS',
  'SECRET',
  'NAME',
  'ADDRESS',
  'DATE_OF_BIRTH',
  'ACCOUNT_NUMBER',
  'USERNAME',
  'PII',
] as const;
export type EntityType = (typeof entityTypes)[number];

/** The types whose values are credentials rather than personal data: never handed back to anyone. */
export const credentialTypes: ReadonlySet<EntityType> = new Set<EntityType>([
  'PRIVATE_KEY',
  'JWT',
  'AWS_ACCESS_KEY',
  'AWS_SECRET',
  'GITHUB_TOKEN',
  'SLACK_TOKEN',
  'STRIPE_KEY',
  'PASSWORD',
  'SECRET',
]);

export interface Match {
  type: EntityType;
  start: number;
  end: number;
}

export interface DetectOptions {
  /** IP addresses are operational facts by default; redact them only when asked. */
  redactIpAddresses?: boolean;
}

/** Luhn checksum: catches card numbers, not every long number. */
export function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return digits.length >= 13 && sum % 10 === 0;
}

/** ISO 13616 mod-97 check of an IBAN. */
export function ibanValid(iban: string): boolean {
  const compact = iban.replace(/\s+/g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(compact)) return false;
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let remainder = 0;
  for (const ch of rearranged) {
    const value = /\d/.test(ch) ? ch : String(ch.charCodeAt(0) - 55);
    for (const digit of value) remainder = (remainder * 10 + Number(digit)) % 97;
  }
  return remainder === 1;
}

/** Shannon entropy in bits per character. */
export function entropy(text: string): number {
  const counts = new Map<string, number>();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) bits -= (n / text.length) * Math.log2(n / text.length);
  return bits;
}

interface Detector {
  type: EntityType;
  pattern: RegExp;
  /** The capture group holding the sensitive part (0: the whole match). */
  group?: number;
  accept?: (value: string) => boolean;
}

const ssnValid = (v: string): boolean => {
  const [area, group, serial] = v.split('-');
  return area !== '000' && area !== '666' && !area?.startsWith('9') && group !== '00' && serial !== '0000';
};

/**
 * In priority order: earlier detectors win where matches overlap (a JWT is not also a
 * high-entropy secret; a password inside a URL is a password).
 */
const detectors: Detector[] = [
  { type: 'PRIVATE_KEY', pattern: /-----BEGIN [A-Z ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY(?: BLOCK)?-----/g },
  { type: 'JWT', pattern: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,4096}\.eyJ[A-Za-z0-9_-]{8,8192}\.[A-Za-z0-9_-]{8,4096}/g },
  { type: 'AWS_ACCESS_KEY', pattern: /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g },
  { type: 'AWS_SECRET', pattern: /aws_secret_access_key\s*[=:]\s*["']?([A-Za-z0-9/+=]{40})\b/dgi, group: 1 },
  { type: 'GITHUB_TOKEN', pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b/g },
  { type: 'SLACK_TOKEN', pattern: /\b(?:xox[abposr]-[A-Za-z0-9-]{10,}|https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9/]+)/g },
  { type: 'STRIPE_KEY', pattern: /\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}\b/g },
  // Passwords in URLs and DSNs: scheme://user:PASSWORD@host
  { type: 'PASSWORD', pattern: /(?<![A-Za-z0-9+.-])[a-z][a-z0-9+.-]{0,31}:\/\/[^\s:/@]{0,256}:([^\s/]{1,256})@/dgi, group: 1 },
  // password=…, secret: …, PGPASSWORD=…, --password …, --token=…
  {
    type: 'PASSWORD',
    pattern:
      // KEY=value pairs (DB_PASSWORD=…, "accessToken": "…", secret: …) and --password / --token flags.
      /(?:(?<![A-Za-z0-9])[A-Za-z0-9]{0,24}[_-]?(?:password|passwd|passphrase|pwd|credentials?|secret|token|api[_-]?key|access[_-]?key|client[_-]?secret|pgpassword)["']?\s*[=:]\s*|--(?:password|pass|token|secret|api-key)(?:=|\s+))("(?:[^"\\\n]|\\.){0,512}"|'[^'\n]{0,512}'|[^\s,;"'}]{1,512})/dgi,
    group: 1,
    // Placeholders and status words (auth: failed, token=expired) are not secrets.
    accept: (v) =>
      !/^\[[A-Z_]+_\d+\]$/.test(v) &&
      !/^["']?(failed|expired|invalid|missing|none|null|true|false|redacted|not|unset)["']?$/i.test(v) &&
      v.replace(/^["']|["']$/g, '').length > 0,
  },
  // Credentials in HTTP headers and on command lines: Authorization: Basic …, curl -u user:pass,
  // redis-cli -a pass, mysql -ppass, X-Api-Key: ….
  {
    type: 'PASSWORD',
    pattern:
      /(?:(?:proxy-)?authorization["']?\s*[:=]\s*["']?(?:bearer|basic|token|digest|apikey)\s+|x-(?:api|auth)-(?:key|token)["']?\s*[:=]\s*["']?)([^\s"',;]{4,4096})/dgi,
    group: 1,
  },
  {
    type: 'PASSWORD',
    pattern:
      /(?<![\w-])(?:(?:curl|wget)\b[^\n|;&]{0,512}?\s(?:-u|--user)\s*[^\s:]{1,128}:|redis-cli\b[^\n|;&]{0,512}?\s-a\s+)([^\s"']{1,512})/dgi,
    group: 1,
  },
  // mysql -pSECRET (case matters: -P is the port).
  { type: 'PASSWORD', pattern: /(?<![\w-])mysql(?:dump|admin)?\b[^\n|;&]{0,512}?\s-p([^\s"']{1,512})/dg, group: 1 },
  {
    type: 'EMAIL',
    pattern: /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}\b/g,
    // systemd instance units (postgresql@15-main.service) are names, not addresses.
    accept: (v) => !/\.(service|socket|target|timer|mount|slice|scope|path)$/.test(v),
  },
  {
    type: 'CARD',
    pattern: /\b\d(?:[ -]?\d){12,18}\b/g,
    accept: (v) => {
      const d = v.replace(/[ -]/g, '');
      return luhn(d) && (d.length >= 15 || /^(4|5[1-5]|3[47]|6)/.test(d));
    },
  },
  { type: 'IBAN', pattern: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b/g, accept: ibanValid },
  { type: 'NATIONAL_ID', pattern: /\b\d{3}-\d{2}-\d{4}\b/g, accept: ssnValid },
  // Phone numbers need a + or separators: a bare run of digits is a pid, a port or an id.
  {
    type: 'PHONE',
    // Never inside an IP address or a run of numbers (pids, latencies): a + or a phone-like grouping.
    pattern: /(?<![\d.])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)[\s.-]?|\b\d{2,4}[\s-])\d{3,4}[\s-]\d{3,4}(?![.\d])|\+\d{8,15}\b/g,
    accept: (v) =>
      v.replace(/\D/g, '').length >= 9 &&
      (/^\+|\(/.test(v.trim()) || /^0\d{2,4} \d{3,4} \d{4}$/.test(v.trim()) || !/^\d{2,5}( \d{2,5}){2,}$/.test(v.trim())),
  },
  { type: 'IP_ADDRESS', pattern: /\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b/g },
  {
    type: 'SECRET',
    pattern: /[A-Za-z0-9+/_=-]{24,}/g,
    accept: (v) =>
      /[A-Za-z]/.test(v) &&
      /\d/.test(v) &&
      !/^[0-9a-f-]{36}$/i.test(v) && // UUIDs are request ids: they survive
      !/^[0-9a-f]{7,40}$/i.test(v) && // commit and content hashes
      !/^[a-z0-9]+(?:[-_][a-z0-9]+)+$/.test(v) && // kebab/snake names: services, hosts, keys
      entropy(v) >= 4.2,
  },
];

/** Every sensitive span in the text, non-overlapping, in order. */
export function detect(text: string, options: DetectOptions = {}): Match[] {
  const found: Match[] = [];
  const overlaps = (start: number, end: number): boolean => found.some((m) => start < m.end && m.start < end);
  for (const detector of detectors) {
    if (detector.type === 'IP_ADDRESS' && !options.redactIpAddresses) continue;
    for (const match of text.matchAll(detector.pattern)) {
      const group = detector.group ?? 0;
      const value = match[group];
      if (value === undefined || match.index === undefined) continue;
      // The group's own position (the d flag), not the first place its text appears in the match.
      const indices = (match as RegExpMatchArray & { indices?: Array<[number, number] | undefined> }).indices?.[group];
      const start = indices ? indices[0] : match.index + (group === 0 ? 0 : match[0].indexOf(value));
      const end = start + value.length;
      if (detector.accept && !detector.accept(value)) continue;
      if (overlaps(start, end)) continue;
      found.push({ type: detector.type, start, end });
    }
  }
  return found.sort((a, b) => a.start - b.start);
}
