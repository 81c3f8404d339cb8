import type { Evidence, HypothesisFlag, IncidentAnnotated } from '@vigil/events';

/**
 * Cleric (an AI SRE) posts its root-cause findings as notes on the PagerDuty incident. This module
 * decides whether a note is Cleric's (by its author only) and reads the note into a finding.
 */

/** Who Cleric is in the paging system, as configured. Empty lists recognise nobody. */
export interface ClericIdentity {
  ids: string[];
  names: string[];
  emails: string[];
}

const folded = (value: string | undefined): string => (value ?? '').trim().toLowerCase();

/**
 * Whether a note's author, as the webhook reports it, is Cleric. The note's text never counts: a
 * human or an attacker can write anything in a note. A display name or email can be set by anyone
 * with an account, a user id cannot be chosen; so when ids are configured, only an id match counts.
 * Without ids: an email (case-insensitive) or a name (case-insensitive, trimmed) must equal a
 * configured one exactly. No Unicode folding, so lookalike names ("Сleric", "Ｃｌｅｒｉｃ") do not match.
 */
export function isClericAuthor(author: IncidentAnnotated['note']['author'], identity: ClericIdentity): boolean {
  const ids = identity.ids.filter((id) => id !== '');
  if (ids.length > 0) return author.id !== undefined && ids.includes(author.id);
  const email = folded(author.email);
  if (email !== '' && identity.emails.some((configured) => folded(configured) === email)) return true;
  const name = folded(author.name);
  return name !== '' && identity.names.some((configured) => folded(configured) === name);
}

/** What Cleric's note says, ready to become a hypothesis with origin `cleric`. */
export interface ClericFinding {
  rootCause: string;
  /** In [0, 1]. At most 0.3 when the note is hedged, unparseable or states no root cause. */
  confidence: number;
  evidence: Evidence[];
  affectedServices: string[];
  flags: HypothesisFlag[];
}

/** The root cause reported when the note states none (the hypothesis schema needs some text). */
export const NO_ROOT_CAUSE = "Cleric's note states no root cause";

const NO_FINDING_CONFIDENCE = 0.1;
const AMBIGUOUS_CONFIDENCE = 0.3;
/** A clear root cause with no stated confidence: neither trusted nor dismissed. */
const UNSTATED_CONFIDENCE = 0.5;

// Bounds: a note may be 64 KiB; every regex below runs on one bounded line and none nests quantifiers.
const MAX_NOTE_CHARS = 65_536;
const MAX_LINES = 2_000;
const MAX_LINE_CHARS = 1_000;
const MAX_CODE_LINES = 40;
const MAX_EVIDENCE = 50;
const MAX_SERVICES = 20;
const MAX_ROOT_CAUSE_CHARS = 500;

// ---------------------------------------------------------------------------------------------
// Note structure: headings, bold labels and `Label: value` lines split the note into blocks.

type Kind = 'rootCause' | 'confidence' | 'evidence' | 'services' | 'ignored' | 'prose';
/** `rank` orders root-cause labels (1 = "Root cause", 3 = "Summary"); `hedged` marks "Possible causes". */
interface Label {
  kind: Kind;
  rank: number;
  hedged: boolean;
}
interface Line {
  text: string;
  bullet: boolean;
}
interface Block extends Label {
  lines: Line[];
}

const label = (kind: Kind, rank = 0, hedged = false): Label => ({ kind, rank, hedged });
const PROSE = label('prose');

/** Matched against the label lower-cased, letters only, without a leading "Cleric's". */
const LABELS: Array<[RegExp, Label]> = [
  [/^(?:possible|potential|candidate)(?: root)? causes?$/, label('rootCause', 1, true)],
  [/^(?:(?:most )?(?:likely|probable|suspected|identified|primary) )?(?:root[ -]?)?causes?(?: identified| found)?$/, label('rootCause', 1)],
  [/^(?:diagnosis|conclusion|hypothesis|verdict)$/, label('rootCause', 2)],
  [/^(?:summary|tl;?dr|overview)$/, label('rootCause', 3)],
  [/^(?:confidence|confidence (?:level|score|rating)|certainty)$/, label('confidence')],
  [/^(?:(?:supporting |key )?evidence|(?:key )?findings|observations|signals|details|data points|what i found)$/, label('evidence')],
  [/^(?:(?:affected|impacted)(?: services?)?|services?(?: (?:affected|impacted))?)$/, label('services')],
  [
    /^(?:(?:recommended |suggested )?(?:next steps|actions?|fix|remediation|mitigation)|recommendations?|action items|how to fix|references|links|runbooks?)$/,
    label('ignored'),
  ],
];

function classify(text: string): Label | undefined {
  if (/[\d=<>%]/.test(text)) return undefined; // "Confidence score = 0.70" is a statement, not a heading
  const key = text
    .toLowerCase()
    .replace(/\(s\)/g, 's')
    .replace(/[^a-z; -]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^cleric(?: s)? /, '');
  if (key === '' || key.length > 40) return undefined;
  return LABELS.find(([pattern]) => pattern.test(key))?.[1];
}

const BULLET = /^\s*(?:[-*+•▪◦]|\d{1,3}[.)])\s+(?:\[[ xX]\]\s+)?/;
const MARKDOWN_HEADING = /^\s{0,3}#{1,6}\s/;
const FENCE = /^\s*(?:```|~~~)/;
/** `|---|:--:|`; tested by characters, not by a regex with overlapping repeats. */
const isTableSeparator = (line: string): boolean => /^[\s:|-]+$/.test(line) && line.includes('-') && line.includes('|');

/** One line of Markdown as plain text: no quote marks, heading marks, bullet or bold. */
function cleanText(line: string): string {
  return line
    .replace(/^\s*(?:>\s*)+/, '')
    .replace(/^\s*#{1,6}\s+/, '')
    .replace(/\s+#+\s*$/, '')
    .replace(BULLET, '')
    .replace(/\*\*|__/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** `| RSS | 94% of limit |` → `RSS: 94% of limit`, so a row reads like a labelled line. */
function tableRow(line: string): string {
  const cells = line
    .trim()
    .replace(/^\||\|$/g, '')
    .split('|')
    .map((cell) => cleanText(cell));
  return cells.length > 1 ? `${cells[0]}: ${cells.slice(1).join(' | ')}` : (cells[0] ?? '');
}

/** `Root cause: X` → the label and X, when the label is one this parser knows. */
function splitLabel(text: string): { label: Label; value: string } | undefined {
  const match = /^([^:：]{1,48}?)\s*[:：]\s*(.*)$/.exec(text);
  const found = match ? classify(match[1] as string) : undefined;
  return match && found ? { label: found, value: (match[2] as string).trim() } : undefined;
}

/** A fenced block as one quoted, bounded line, so a SQL block yields a `query` fact. */
const codeLine = (code: string[]): Line => ({
  text: `\`${code.join(' ').replace(/\s+/g, ' ').trim().slice(0, MAX_LINE_CHARS)}\``,
  bullet: true,
});

/**
 * Splits the note into blocks. A heading (`## Evidence`, `**Evidence**`, `Evidence:`) opens a
 * block that runs to the next heading; a labelled line (`Confidence: 92%`) is a block of its own,
 * after which the enclosing section resumes (as prose, for a root-cause or confidence section).
 */
function readBlocks(content: string): Block[] {
  const rawLines = content.slice(0, MAX_NOTE_CHARS).split(/\r?\n/).slice(0, MAX_LINES);
  const blocks: Block[] = [];
  const open = (found: Label): Block => {
    const block = { ...found, lines: [] };
    blocks.push(block);
    return block;
  };
  let section = open(PROSE);
  let code: string[] | undefined;

  rawLines.forEach((raw, i) => {
    const line = raw.slice(0, MAX_LINE_CHARS);
    if (FENCE.test(line)) {
      if (code === undefined) code = [];
      else {
        section.lines.push(codeLine(code));
        code = undefined;
      }
      return;
    }
    if (code !== undefined) {
      if (code.length < MAX_CODE_LINES) code.push(line.trim().replace(/`/g, "'"));
      return;
    }
    const isTable = /^\s*\|/.test(line);
    if (isTable && (isTableSeparator(line) || isTableSeparator(rawLines[i + 1] ?? ''))) return; // separators and header rows
    const text = isTable ? tableRow(line) : cleanText(line);
    const labelled = splitLabel(text);
    const heading = labelled === undefined ? classify(text) : undefined;
    if (labelled && labelled.value !== '') {
      blocks.push({ ...labelled.label, lines: [{ text: labelled.value, bullet: false }] });
      section = open(['evidence', 'services', 'ignored'].includes(section.kind) ? section : PROSE);
    } else if (labelled || heading) section = open(labelled?.label ?? (heading as Label));
    else if (MARKDOWN_HEADING.test(line))
      section = open(PROSE); // a title: its text is not a finding
    else section.lines.push({ text, bullet: isTable || BULLET.test(line) });
  });
  if (code !== undefined) section.lines.push(codeLine(code));
  return blocks;
}

/** A root-cause block's statement (its first paragraph or bullet) and the lines after it. */
function statementOf(block: Block): { statement: string; rest: Line[] } {
  const start = block.lines.findIndex((line) => line.text !== '');
  if (start < 0) return { statement: '', rest: [] };
  const lines = block.lines.slice(start);
  if (block.hedged)
    return {
      statement: lines
        .map((line) => line.text)
        .filter((text) => text !== '')
        .join('; '),
      rest: [],
    };
  if ((lines[0] as Line).bullet) return { statement: (lines[0] as Line).text, rest: lines.slice(1) };
  const end = lines.findIndex((line) => line.text === '' || line.bullet);
  const paragraph = end < 0 ? lines : lines.slice(0, end);
  return { statement: paragraph.map((line) => line.text).join(' '), rest: end < 0 ? [] : lines.slice(end) };
}

function sentencesOf(text: string): string[] {
  return text.split(/(?<=[.!?])\s+(?=[A-Z0-9`*"(])/).filter((sentence) => sentence !== '');
}

// ---------------------------------------------------------------------------------------------
// Confidence: "92%", "confidence: 92 %", "0.85", "9/10", "high", "very high".

const CONFIDENCE_WORDS: Array<[RegExp, number]> = [
  [/\b(?:very|extremely)\s+high\b/i, 0.95],
  [/\b(?:very|extremely)\s+low\b/i, 0.15],
  [/\b(?:medium|moderate)[\s-]+(?:to[\s-]+)?high\b/i, 0.75],
  [/\blow[\s-]+(?:to[\s-]+)?(?:medium|moderate)\b/i, 0.45],
  [/\bhigh(?:ly)?\b/i, 0.85],
  [/\b(?:medium|moderate(?:ly)?|fair(?:ly)?)\b/i, 0.6],
  [/\blow\b/i, 0.3],
];
const VALUE = String.raw`\d{1,3}(?:\.\d{1,6})?\s*%|\d{1,2}(?:\.\d{1,6})?\s*\/\s*10\b|[01]?\.\d{1,6}\b|[01](?:\.0{1,6})?\b|(?:(?:very|extremely)\s+)?(?:high|medium|moderate|low|fair)(?:ly)?\b(?:[\s-]+(?:to[\s-]+)?(?:high|medium|moderate))?`;
const VALUE_AFTER = new RegExp(
  String.raw`^\s*(?:(?:\s*(?:[:=(~≈*_–—-]|is|of|at|about|around|approximately|roughly|level|score|rating))*)\s*(${VALUE})`,
  'i',
);
const VALUE_BEFORE = new RegExp(String.raw`(?:^|[\s(~≈])(${VALUE})\s*[-:]?\s*$`, 'i');
const CONFIDENCE_WORD = /\bconfiden(?:ce|t)\b|\bcertainty\b/gi;

/** A confidence value written on its own ("87 %", "0.85", "High — three signals agree"). */
function confidenceValue(text: string): number | undefined {
  const percent = /(\d{1,3}(?:\.\d{1,6})?)\s*%/.exec(text);
  if (percent) return inUnitRange(Number(percent[1]) / 100);
  const outOfTen = /(\d{1,2}(?:\.\d{1,6})?)\s*\/\s*10\b/.exec(text);
  if (outOfTen) return inUnitRange(Number(outOfTen[1]) / 10);
  const fraction = /(?:^|[^\d.])([01]?\.\d{1,6}|[01](?:\.0{1,6})?)(?![\d.])/.exec(text);
  if (fraction) return inUnitRange(Number(fraction[1]));
  return CONFIDENCE_WORDS.find(([pattern]) => pattern.test(text))?.[1];
}

const inUnitRange = (value: number): number | undefined => (value >= 0 && value <= 1 ? value : undefined);

/** The first confidence stated next to the word: "confidence: 92%", "92% confidence", "high confidence". */
function confidenceMentioned(text: string): number | undefined {
  for (const match of text.matchAll(CONFIDENCE_WORD)) {
    const after = VALUE_AFTER.exec(text.slice(match.index + match[0].length, match.index + match[0].length + 50));
    const before = VALUE_BEFORE.exec(text.slice(Math.max(0, match.index - 30), match.index));
    const value = confidenceValue(after?.[1] ?? before?.[1] ?? '');
    if (value !== undefined) return value;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Hedges and injected instructions: either makes the note ambiguous, never a confident guess.

const HEDGES: RegExp[] = [
  /\b(?:might|could)\s+(?:also\s+)?(?:be|have)\b/i,
  // Not every "may be": "customers may be seeing 502s" reports impact, not doubt.
  /\bmay\s+(?:also\s+)?(?:be\s+(?:caused|due|related|the\b)|have\s+(?:caused|been|triggered))/i,
  /\b(?:possibly|perhaps|maybe)\b/i,
  /\bnot\s+(?:entirely\s+|completely\s+|fully\s+|100%\s+)?(?:sure|certain|confident|clear)\b/i,
  /\b(?:unsure|uncertain|unclear|inconclusive|undetermined|indeterminate)\b/i,
  /\b(?:unable|failed)\s+to\s+(?:determine|identify|find|confirm|pinpoint|isolate)\b/i,
  /\b(?:could\s+not|couldn't|cannot|can't|can\s+not)\s+(?:determine|identify|find|confirm|pinpoint|isolate|tell)\b/i,
  /\beither\b[^.\n]{1,160}?\bor\b/i,
  /\bno\s+(?:clear|definitive|obvious|single|conclusive)\s+(?:root\s+)?cause\b/i,
  /\b(?:insufficient|not\s+enough)\s+(?:data|evidence|information|signal)\b/i,
  /\bhard\s+to\s+(?:say|tell)\b/i,
  /\bstill\s+investigating\b|\binvestigation\s+(?:is\s+)?(?:ongoing|in\s+progress)\b/i,
];

/** Text that tries to instruct a reader (a model or a pipeline) rather than report a finding. */
const INJECTIONS: RegExp[] = [
  /\b(?:ignore|disregard|forget)\s+(?:all\s+|any\s+)?(?:the\s+|your\s+)?(?:previous|prior|above|earlier|preceding)\s+(?:instructions?|prompts?|rules|messages|context)\b/i,
  /\b(?:system|developer)\s+prompt\b/i,
  /\byou\s+are\s+now\b/i,
  /\b(?:new|updated|override)\s+instructions?\s*:/i,
  /<\/?\s*(?:system|instructions?|assistant|user)\s*>/i,
  /\bauto[\s-]?approve\b|\bskip\s+(?:the\s+)?approvals?\b|\bbypass\s+(?:the\s+)?(?:gate|approvals?|policy|policies)\b/i,
];

/** "unknown", "none — all fine", "n/a so far": a label with no answer after it. */
const NO_ANSWER =
  /^(?:unknown|none|n\/?a|tbd|undetermined|not\s+(?:yet\s+)?determined|no\s+root\s+cause|\?+|-+)(?:\s*$|\s*[—–:;,(-]|\s+(?:yet|found|identified|so\s+far)\b)/i;

const CAUSE_CUE =
  /\broot[\s-]cause\s*(?::|is\b|was\b|appears\s+to\s+be\b|seems\s+to\s+be\b|looks\s+like\b)|\b(?:caused|triggered|driven)\s+by\b|\bdue\s+to\b|\bbecause\b|\bstems?\s+from\b|\bresult\s+of\b|\bis\s+the\s+culprit\b/i;

/** The root cause without the confidence written beside it ("X (confidence 92%)", "X — 92% confidence"). */
function tidyRootCause(text: string): string | undefined {
  const tidy = text
    .replace(/\s*[([][^()[\]]{0,40}\b(?:confiden(?:ce|t)|certainty)\b[^()[\]]{0,40}[)\]]/gi, '')
    .replace(/[\s,;—–-]+(?:with\s+)?(?:confidence|certainty)\b.*$/i, '')
    .replace(/[\s,;—–-]+[^,;—–]{0,30}\bconfiden(?:ce|t)\.?$/i, '')
    .replace(/[\s.;,:]+$/, '')
    .trim()
    .slice(0, MAX_ROOT_CAUSE_CHARS);
  return tidy.length < 3 || NO_ANSWER.test(tidy) ? undefined : tidy;
}

// ---------------------------------------------------------------------------------------------
// Facts runbooks bind to (`{{evidence.blocker_pid}}`), read from one evidence line.

type Facts = Record<string, number | string>;
interface FactPattern {
  /** Capture group n fills keys[n - 1]; a key already set on the line is kept. */
  keys: readonly string[];
  pattern: RegExp;
  read?: (raw: string) => number | undefined;
  /** Skip the pattern on lines matching this (e.g. Redis memory is not process memory). */
  unless?: RegExp;
}

const UNIT = String.raw`(?:hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)\b`;
const DURATION = String.raw`\d{1,12}(?:\.\d{1,6})?\s*${UNIT}(?:[\s,]+(?:and\s+)?\d{1,12}(?:\.\d{1,6})?\s*${UNIT}){0,2}`;
const SIZE = String.raw`\d{1,12}(?:\.\d{1,6})?\s*(?:[kmgt]i?b|[kmgt]|bytes?|b)?\b(?!\s*%)`;
const PERCENT = String.raw`(\d{1,3}(?:\.\d{1,6})?)\s*%`;
const COUNT = String.raw`(\d[\d,]{0,14})`;
const PID = String.raw`(?:pid|backend|process)\s*[:=#]?\s*(\d{1,9})\b`;
const LOCK_WORD = String.raw`\b(?:holds?|holding|held|block(?:s|ing)?|lock(?:s|ing)?)\b`;

/** "2m 5s" → 125. Units by their first letter: h(ours), m(inutes), s(econds); "ms" never reaches here. */
function secondsOf(raw: string): number {
  let total = 0;
  for (const [, amount, unit] of raw.matchAll(/(\d{1,12}(?:\.\d{1,6})?)\s*([a-z])/gi)) {
    const first = (unit as string).toLowerCase();
    total += Number(amount) * (first === 'h' ? 3600 : first === 'm' ? 60 : 1);
  }
  return Math.round(total);
}

const BYTES: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
function bytesOf(raw: string): number | undefined {
  const match = /^(\d{1,12}(?:\.\d{1,6})?)\s*([kmgt]?)/i.exec(raw.trim());
  return match ? Math.round(Number(match[1]) * (BYTES[(match[2] as string).toLowerCase()] ?? 1)) : undefined;
}

function millisecondsOf(raw: string): number | undefined {
  const match = /^(\d{1,12}(?:\.\d{1,6})?)\s*(ms|s)$/i.exec(raw.trim());
  return match ? Math.round(Number(match[1]) * ((match[2] as string).toLowerCase() === 's' ? 1000 : 1)) : undefined;
}

/** "97" (a percentage) → 0.97, the unit probes and scores use. */
function ratioOf(raw: string): number | undefined {
  const percent = Number(raw);
  return percent >= 0 && percent <= 100 ? Math.round(percent * 10) / 1000 : undefined;
}

const numberOf = (raw: string): number | undefined => {
  const value = Number(raw.replace(/,/g, ''));
  return Number.isFinite(value) ? value : undefined;
};

const fact = (keys: string | readonly string[], pattern: RegExp, read?: FactPattern['read'], unless?: RegExp): FactPattern => ({
  keys: typeof keys === 'string' ? [keys] : keys,
  pattern,
  ...(read ? { read } : {}),
  ...(unless ? { unless } : {}),
});

const REDIS_MEMORY = /\b(?:used_memory|maxmemory)\b/i;
const FACT_PATTERNS: FactPattern[] = [
  // Postgres blocking chain: who blocks, how many wait, for how long.
  fact('blocker_pid', /\bblocker(?:[\s_-]*pid)?[\s:=#(]*(?:pid\s*)?(\d{1,9})\b/i),
  fact(
    'blocker_pid',
    new RegExp(String.raw`\b(?:(?:blocked|held|owned)\s+by|wait(?:s|ing)?\s+(?:on|for|behind))\s+(?:the\s+)?${PID}`, 'i'),
  ),
  fact('blocker_pid', new RegExp(String.raw`\b${PID}[^.;\n]{0,80}?${LOCK_WORD}`, 'i')),
  fact('blocker_pid', new RegExp(String.raw`\bblocking\s+${PID}`, 'i')),
  fact(
    'waiting',
    new RegExp(
      String.raw`(?<!\b(?:pid|backend|process)\s{0,3}[:=#]?\s{0,3})\b${COUNT}\s+(?:other\s+|more\s+)?(?:sessions?|queries|query|backends?|connections?|requests?|transactions?|clients?|processes)\b[^.;,\d\n]{0,20}?\b(?:waiting|wait|blocked|queued|stuck)\b`,
      'i',
    ),
    numberOf,
  ),
  fact(
    'waiting',
    new RegExp(
      String.raw`\bblock(?:s|ing)\s+${COUNT}\s+(?:other\s+)?(?:sessions?|queries|backends?|transactions?|requests?|processes)\b`,
      'i',
    ),
    numberOf,
  ),
  fact('waiting', new RegExp(String.raw`\b(?:waiting|waiters)\s*[:=]\s*${COUNT}|\b${COUNT}\s+waiters\b`, 'i'), numberOf),
  fact('held_for_s', new RegExp(String.raw`${LOCK_WORD}[^.;\n]{0,60}?\bfor\s+(${DURATION})`, 'i'), secondsOf),
  fact('held_for_s', new RegExp(String.raw`\bfor\s+(${DURATION})[^.;\n]{0,60}?\b(?:holding|holds|blocking)\b`, 'i'), secondsOf),
  fact('held_for_s', new RegExp(String.raw`\b(?:lock\s+age|held)\s*[:=]?\s*(${DURATION})`, 'i'), secondsOf),
  fact('idle_for_s', new RegExp(String.raw`\bidle(?:\s+in\s+transaction)?\b[^.;\n\d]{0,30}?\bfor\s+(${DURATION})`, 'i'), secondsOf),
  fact('idle_pid', new RegExp(String.raw`\b${PID}[^.;\n]{0,60}?\bidle\s+in\s+transaction\b`, 'i')),
  fact(
    'idle_count',
    new RegExp(String.raw`\b${COUNT}\s+(?:connections?|sessions?|backends?)\s+(?:are\s+)?(?:\w+\s+)?idle\s+in\s+transaction\b`, 'i'),
    numberOf,
  ),
  // Connection saturation.
  fact(
    ['connections', 'max_connections'],
    new RegExp(
      String.raw`\b${COUNT}\s*(?:\/|of|out\s+of)\s*${COUNT}\s+(?:\w+\s+)?(?:connections?|conns|connection\s+slots|slots|clients)\b`,
      'i',
    ),
    numberOf,
  ),
  fact(['connections', 'max_connections'], new RegExp(String.raw`\bconnections?\s*[:=]\s*${COUNT}\s*\/\s*${COUNT}`, 'i'), numberOf),
  fact('max_connections', new RegExp(String.raw`\bmax_connections\s*(?:[(=:]|is|of)?\s*${COUNT}`, 'i'), numberOf),
  fact(
    'connections',
    new RegExp(String.raw`\b${COUNT}\s+(?:active\s+|open\s+|total\s+|client\s+)?connections\b(?!\s+(?:are\s+)?idle)`, 'i'),
    numberOf,
  ),
  fact(['pool_in_use', 'pool_size'], new RegExp(String.raw`\bpool\b[^\n\d]{0,30}?${COUNT}\s*\/\s*${COUNT}`, 'i'), numberOf),
  // Redis memory and clients.
  fact(
    ['used_memory', 'maxmemory'],
    new RegExp(String.raw`\bused_memory(?:_human)?\s*[:=]?\s*(${SIZE})[^\n\d]{0,20}?\bmaxmemory(?:_human)?\s*[:=]?\s*(${SIZE})`, 'i'),
    bytesOf,
  ),
  fact(['used_memory', 'maxmemory'], new RegExp(String.raw`(${SIZE})\s*(?:\/|of|out\s+of)\s*(${SIZE})\s*\(?maxmemory\b`, 'i'), bytesOf),
  fact('used_memory', new RegExp(String.raw`\bused_memory(?:_human)?\s*[:=]?\s*(${SIZE})`, 'i'), bytesOf),
  fact('maxmemory', new RegExp(String.raw`\bmaxmemory(?:_human)?\s*[:=]?\s*(${SIZE})`, 'i'), bytesOf),
  fact('memory_ratio', new RegExp(String.raw`${PERCENT}\s*of\s*(?:the\s+)?maxmemory\b`, 'i'), ratioOf),
  fact('memory_ratio', new RegExp(String.raw`\b(?:used_memory|maxmemory)\b[^\n%\d]{0,30}?${PERCENT}`, 'i'), ratioOf),
  fact(
    'evicted_keys',
    new RegExp(String.raw`\bevicted_keys\s*[:=]?\s*${COUNT}|\b${COUNT}\s+(?:keys?\s+)?(?:were\s+|have\s+been\s+)?evicted\b`, 'i'),
    numberOf,
  ),
  fact('blocked_clients', new RegExp(String.raw`\bblocked_clients\s*[:=]?\s*${COUNT}|\b${COUNT}\s+blocked\s+clients\b`, 'i'), numberOf),
  // Processes, disks and certificates.
  fact(
    'container_memory_ratio',
    new RegExp(String.raw`\b(?:memory|heap|rss|working\s+set)\b[^\n%\d]{0,30}?${PERCENT}`, 'i'),
    ratioOf,
    REDIS_MEMORY,
  ),
  fact(
    'restarts',
    new RegExp(
      String.raw`\b${COUNT}\s+restarts\b|\b(?:restarted|oomkilled|killed|crashed)\s+${COUNT}\s+times\b|\brestart_?count\s*[:=]?\s*${COUNT}`,
      'i',
    ),
    numberOf,
  ),
  fact('exit_code', /\bexit(?:\s+|_)code\s*[:=]?\s*(\d{1,3})\b|\bexited\s+with\s+(?:code\s+)?(\d{1,3})\b/i, numberOf),
  fact(
    'disk_used_ratio',
    new RegExp(String.raw`\b(?:disk|volume|filesystem|partition)\b[^\n%\d]{0,40}?${PERCENT}|${PERCENT}\s+full\b`, 'i'),
    ratioOf,
  ),
  fact('cert_expires_in_days', /\bexpir(?:es|y|ing)\s+in\s+(\d{1,4})\s+days?\b/i, numberOf),
  fact('p95_ms', /\bp95\b[^\n\d]{0,20}?(\d{1,12}(?:\.\d{1,6})?\s*(?:ms|s))\b/i, millisecondsOf),
];

const SQL_IN_BACKTICKS = /`\s*((?:select|update|insert|delete|with|alter|lock|vacuum|create|drop|truncate|begin)\b[^`\n]{0,2000}?)\s*`/i;

/** The facts one line states. Code spans are masked first, so numbers inside SQL are not facts. */
function factsIn(line: string): Facts {
  const facts: Facts = {};
  const query = SQL_IN_BACKTICKS.exec(line);
  if (query) facts['query'] = query[1] as string;
  const text = line.replace(/`[^`]*`/g, '`…`');
  for (const { keys, pattern, read = numberOf, unless } of FACT_PATTERNS) {
    if (keys.every((key) => key in facts) || unless?.test(text)) continue;
    const match = pattern.exec(text);
    if (!match) continue;
    // Alternatives fill the same key from different groups: take the groups that matched, in order.
    const groups = match.slice(1).filter((group) => group !== undefined);
    keys.forEach((key, i) => {
      const raw = groups[keys.length === 1 ? 0 : i];
      const value = raw === undefined ? undefined : read(raw);
      if (value !== undefined && !(key in facts)) facts[key] = value;
    });
  }
  const used = facts['used_memory'];
  const max = facts['maxmemory'];
  if (facts['memory_ratio'] === undefined && typeof used === 'number' && typeof max === 'number' && max > 0)
    facts['memory_ratio'] = Math.round((used / max) * 1000) / 1000;
  return facts;
}

// ---------------------------------------------------------------------------------------------
// Services.

const NOT_A_SERVICE = new Set(['none', 'n/a', 'na', 'unknown', 'tbd', 'all', 'service', 'services', 'other', 'others']);

/** `payment-api, \`checkout-api\` (errors 12%) and Fulfillment-Service` → valid, lower-case service names. */
function servicesIn(text: string): string[] {
  return text
    .replace(/\([^()]*\)/g, ' ')
    .split(/[,;&|]|\s+and\s+/)
    .map((item) => {
      const words = item
        .replace(/[`*"']/g, ' ')
        .trim()
        .replace(/^the\s+/i, '');
      const token = /^[A-Za-z0-9][A-Za-z0-9._\-/]{0,120}/.exec(words)?.[0] ?? '';
      const name = token.replace(/[._\-/]+$/, '').toLowerCase();
      return name.length <= 120 && token.length <= 120 && !NOT_A_SERVICE.has(name) ? name : '';
    })
    .filter((name) => name !== '');
}

// ---------------------------------------------------------------------------------------------

interface Candidate {
  text: string;
  rank: number;
  hedged: boolean;
}

/** What the note's blocks say, before any judgement. */
interface Reading {
  candidates: Candidate[];
  /** Root-cause, confidence and prose text: where hedges and confidence are looked for. */
  judged: string[];
  /** `explicit` lines are evidence as written; other prose sentences count only if they state facts. */
  evidence: Array<{ text: string; explicit: boolean }>;
  services: string[];
  labelledConfidence?: number;
}

function read(blocks: Block[]): Reading {
  const reading: Reading = { candidates: [], judged: [], evidence: [], services: [] };
  const readProse = (lines: Line[]): void => {
    for (const { text, bullet } of lines) {
      if (text === '') continue;
      if (bullet) reading.evidence.push({ text, explicit: true });
      else {
        reading.judged.push(text);
        for (const sentence of sentencesOf(text)) reading.evidence.push({ text: sentence, explicit: false });
      }
    }
  };
  for (const block of blocks) {
    if (block.kind === 'rootCause') {
      const { statement: whole, rest } = statementOf(block);
      const statement = whole.slice(0, MAX_LINE_CHARS); // a long paragraph is read as far as any line
      if (statement !== '') reading.candidates.push({ text: statement, rank: block.rank, hedged: block.hedged });
      reading.judged.push(statement);
      readProse(rest);
    } else if (block.kind === 'confidence') {
      const first = block.lines.find((line) => line.text !== '');
      if (first) {
        reading.judged.push(first.text);
        reading.labelledConfidence ??= confidenceValue(first.text);
      }
    } else if (block.kind === 'evidence') {
      for (const { text } of block.lines) if (text !== '') reading.evidence.push({ text, explicit: true });
    } else if (block.kind === 'services') {
      for (const { text } of block.lines) reading.services.push(...servicesIn(text));
    } else if (block.kind === 'prose') readProse(block.lines);
  }
  return reading;
}

/** The root cause: the best-ranked label, else the first prose sentence with a causal cue. */
function chooseRootCause(reading: Reading): { text?: string; source?: string; hedged: boolean; conflicting: boolean } {
  if (reading.candidates.length === 0) {
    const source = reading.judged.flatMap(sentencesOf).find((sentence) => CAUSE_CUE.test(sentence));
    const text = source === undefined ? undefined : tidyRootCause(source);
    return { ...(text ? { text, source } : {}), hedged: false, conflicting: false };
  }
  const best = Math.min(...reading.candidates.map((candidate) => candidate.rank));
  const top = reading.candidates.filter((candidate) => candidate.rank === best);
  const chosen = top[0] as Candidate;
  const text = tidyRootCause(chosen.text);
  // Two different root causes under equally strong labels: Cleric has not settled on one.
  const conflicting = new Set(top.map((candidate) => tidyRootCause(candidate.text)?.toLowerCase())).size > 1;
  return { ...(text ? { text, source: chosen.text } : {}), hedged: chosen.hedged, conflicting };
}

function evidenceOf(reading: Reading, rootCause: { text?: string; source?: string }): Evidence[] {
  const evidence: Evidence[] = [];
  for (const { text, explicit } of reading.evidence) {
    if (evidence.length >= MAX_EVIDENCE) break;
    if (!explicit && text === rootCause.source) continue;
    const facts = factsIn(text);
    if (explicit || Object.keys(facts).length > 0) evidence.push({ source: 'cleric', summary: text.slice(0, MAX_LINE_CHARS), facts });
  }
  // The root cause itself may state what a runbook binds ("pid 4242 holds…"); it counts when it adds a fact.
  if (rootCause.text && evidence.length < MAX_EVIDENCE) {
    const facts = factsIn(rootCause.text);
    if (Object.keys(facts).some((key) => !evidence.some((item) => key in item.facts)))
      evidence.push({ source: 'cleric', summary: rootCause.text, facts });
  }
  return evidence;
}

/**
 * Reads Cleric's note into a finding. Understands Markdown headings, bold labels, `Label: value`
 * lines, bullet lists, tables and plain prose. Never guesses: a note with no root cause, a hedged
 * one ("might be", "could be either X or Y", "inconclusive") or one carrying instructions gets
 * at most 0.3 and the flag `ambiguous`. Work is bounded (64 KiB, 2,000 lines, 50 evidence lines).
 */
export function parseClericNote(content: string): ClericFinding {
  const note = content.slice(0, MAX_NOTE_CHARS);
  const reading = read(readBlocks(note));
  const rootCause = chooseRootCause(reading);
  const judged = rootCause.text ? [rootCause.text, ...reading.judged] : reading.judged;
  const hedged = rootCause.hedged || judged.some((text) => HEDGES.some((hedge) => hedge.test(text)));
  const injected = INJECTIONS.some((pattern) => pattern.test(note));
  const stated = reading.labelledConfidence ?? judged.map(confidenceMentioned).find((value) => value !== undefined);

  const ambiguous = rootCause.text === undefined || hedged || rootCause.conflicting || injected;
  const confidence =
    rootCause.text === undefined
      ? Math.min(stated ?? NO_FINDING_CONFIDENCE, NO_FINDING_CONFIDENCE)
      : ambiguous
        ? Math.min(stated ?? AMBIGUOUS_CONFIDENCE, AMBIGUOUS_CONFIDENCE)
        : (stated ?? UNSTATED_CONFIDENCE);
  const evidence = evidenceOf(reading, rootCause);
  const affectedServices = [...new Set(reading.services)].slice(0, MAX_SERVICES);

  const flags: HypothesisFlag[] = [];
  if (ambiguous) flags.push('ambiguous');
  if (!ambiguous && confidence < 0.5) flags.push('low_confidence');
  if (evidence.length === 0) flags.push('no_evidence');
  if (affectedServices.length > 1) flags.push('multiple_services');
  return { rootCause: rootCause.text ?? NO_ROOT_CAUSE, confidence, evidence, affectedServices, flags };
}
