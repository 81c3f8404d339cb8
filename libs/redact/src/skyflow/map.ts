import { VigilError } from '@vigil/errors';
import { z } from 'zod';
import type { EntityType } from '../detectors.js';
import type { PlaceholderVault, RedactionResult } from '../redactor.js';

/**
 * The Detect entity types Vigil asks Skyflow for unless told otherwise: data about people, never
 * the operational facts an incident is made of (times, durations, dates, numbers, URLs, IP
 * addresses, organisations, products, cities). Values of the REST enum `EntityType`.
 */
export const defaultSkyflowEntityTypes = [
  'name',
  'name_given',
  'name_family',
  'email_address',
  'phone_number',
  'credit_card',
  'credit_card_expiration',
  'cvv',
  'bank_account',
  'account_number',
  'routing_number',
  'ssn',
  'passport_number',
  'driver_license',
  'healthcare_number',
  'dob',
  'location_address',
  'location_address_street',
  'location_zip',
  'password',
] as const;

/** Skyflow's label (lower case) → our placeholder type; a label not listed becomes `PII`. */
const placeholderTypes: Readonly<Record<string, EntityType>> = {
  name: 'NAME',
  name_given: 'NAME',
  name_family: 'NAME',
  name_medical_professional: 'NAME',
  email_address: 'EMAIL',
  phone_number: 'PHONE',
  credit_card: 'CARD',
  credit_card_expiration: 'CARD',
  cvv: 'CARD',
  bank_account: 'ACCOUNT_NUMBER',
  account_number: 'ACCOUNT_NUMBER',
  routing_number: 'ACCOUNT_NUMBER',
  ssn: 'NATIONAL_ID',
  passport_number: 'NATIONAL_ID',
  driver_license: 'NATIONAL_ID',
  healthcare_number: 'NATIONAL_ID',
  dob: 'DATE_OF_BIRTH',
  location_address: 'ADDRESS',
  location_address_street: 'ADDRESS',
  location_zip: 'ADDRESS',
  location_coordinate: 'ADDRESS',
  password: 'PASSWORD',
  ip_address: 'IP_ADDRESS',
  username: 'USERNAME',
};

/**
 * Labels that name operational facts. Skyflow may report them even when they were not asked for;
 * they stay in the text unless the configuration asks for them. Every other label is redacted:
 * an unknown label is treated as personal data.
 */
const factLabels: ReadonlySet<string> = new Set([
  'time',
  'duration',
  'date',
  'date_interval',
  'day',
  'month',
  'year',
  'age',
  'ip_address',
  'url',
  'filename',
  'numerical_pii',
  'money',
  'statistics',
  'trend',
  'financial_metric',
  'corporate_action',
  'organization',
  'organization_id',
  'product',
  'project',
  'event',
  'language',
  'location',
  'location_city',
  'location_state',
  'location_country',
  'occupation',
]);

/** The placeholder type for a Skyflow label. */
export function placeholderTypeFor(label: string): EntityType {
  return placeholderTypes[label.toLowerCase()] ?? 'PII';
}

const index = z.number().int().min(0).nullish();

/** `POST /v1/detect/deidentify/string` answers this (generated client type `DeidentifyStringResponse`). */
export const DeidentifyStringResponse = z.object({
  processed_text: z.string().nullish(),
  entities: z
    .array(
      z.object({
        token: z.string().nullish(),
        value: z.string().nullish(),
        location: z.object({ start_index: index, end_index: index, start_index_processed: index, end_index_processed: index }).nullish(),
        entity_type: z.string().nullish(),
        entity_scores: z.unknown().optional(),
      }),
    )
    .nullish(),
  word_count: z.number().nullish(),
  character_count: z.number().nullish(),
});
export type DeidentifyStringResponse = z.infer<typeof DeidentifyStringResponse>;
type DetectedEntity = NonNullable<DeidentifyStringResponse['entities']>[number];

/** A span of the text Skyflow was sent, in UTF-16 code units (JavaScript string indexes), end exclusive. */
export interface VendorSpan {
  type: EntityType;
  start: number;
  end: number;
}

const invalid = (message: string): VigilError => new VigilError('SKYFLOW_RESPONSE_INVALID', message);

/**
 * The spans Skyflow reported in `text`. Its indexes are not trusted blindly: the service may
 * count code points (Python) where JavaScript counts UTF-16 units, and "end_index" is documented
 * as the last character, so each entity is placed where its `value` really is. Without a value,
 * the span is widened to whole words, so an off-by-one never leaves part of a value behind.
 * Labels of operational facts are skipped unless `requested` names them. Throws
 * `SKYFLOW_RESPONSE_INVALID` when the body is not the documented shape or an entity cannot be placed.
 */
export function spansFromResponse(text: string, body: unknown, requested: ReadonlySet<string>): VendorSpan[] {
  const parsed = DeidentifyStringResponse.safeParse(body);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => i.path.join('.') || '(root)').join(', ');
    throw invalid(`Skyflow's de-identify answer is not the documented shape (at ${where})`);
  }
  const spans: VendorSpan[] = [];
  const units = codePointOffsets(text);
  for (const [i, entity] of (parsed.data.entities ?? []).entries()) {
    const label = (entity.entity_type ?? '').toLowerCase();
    if (factLabels.has(label) && !requested.has(label)) continue;
    const type = placeholderTypeFor(label);
    for (const [start, end] of locate(text, units, entity, i)) spans.push({ type, start, end });
  }
  return spans;
}

function locate(text: string, units: number[] | undefined, entity: DetectedEntity, i: number): Array<[number, number]> {
  const value = entity.value ?? undefined;
  const s = entity.location?.start_index ?? undefined;
  const e = entity.location?.end_index ?? undefined;
  const asUnits = (cp: number): number | undefined => (units ? units[cp] : cp <= text.length ? cp : undefined);
  if (value) {
    const occurrences = allIndexesOf(text, value);
    if (occurrences.length === 0) throw invalid(`Skyflow entity ${i} is not in the text it was sent`);
    if (s === undefined || e === undefined) return occurrences.map((o) => [o, o + value.length]);
    // Code units or code points; end exclusive or inclusive: every reading that gives the value
    // is redacted (where two do, both places hold the same value, and both must go).
    const readings = new Map<number, [number, number]>();
    for (const [a, b] of [
      [s, e],
      [s, e + 1],
      [asUnits(s), asUnits(e)],
      [asUnits(s), asUnits(e + 1)],
    ]) {
      if (a !== undefined && b !== undefined && text.slice(a, b) === value) readings.set(a, [a, b]);
    }
    if (readings.size > 0) return [...readings.values()];
    const nearest = occurrences.reduce((best, o) => (Math.abs(o - s) < Math.abs(best - s) ? o : best));
    return [[nearest, nearest + value.length]];
  }
  if (s === undefined || e === undefined) throw invalid(`Skyflow entity ${i} has neither a value nor a location`);
  let start = asUnits(s);
  let end = asUnits(Math.min(e, units ? units.length - 1 : text.length));
  if (start === undefined || end === undefined || start >= text.length || end <= start)
    throw invalid(`Skyflow entity ${i} has a location outside the text it was sent`);
  while (start > 0 && isWordUnit(text, start - 1)) start--;
  while (end < text.length && isWordUnit(text, end)) end++;
  return [[start, end]];
}

/** `offsets[k]` is the UTF-16 index of the k-th code point (and `offsets[count]` the length); undefined when they agree. */
function codePointOffsets(text: string): number[] | undefined {
  if (!/[\uD800-\uDFFF]/.test(text)) return undefined;
  const offsets: number[] = [];
  let unit = 0;
  for (const ch of text) {
    offsets.push(unit);
    unit += ch.length;
  }
  offsets.push(unit);
  return offsets;
}

function allIndexesOf(text: string, value: string): number[] {
  const found: number[] = [];
  for (let at = text.indexOf(value); at >= 0; at = text.indexOf(value, at + 1)) found.push(at);
  return found;
}

const wordChar = /[\p{L}\p{N}\p{M}_@.+-]/u;
const isWordUnit = (text: string, i: number): boolean => {
  const code = text.charCodeAt(i);
  // Half of a surrogate pair belongs to whatever character it is part of: never split one.
  if (code >= 0xd800 && code <= 0xdfff) return true;
  return wordChar.test(text[i] ?? '');
};

/**
 * Puts the vendor's spans on top of the local result (`local.text` is what the vendor was sent).
 * A local placeholder always wins, so its value and number stay what the local detectors made
 * them; the parts of a vendor span outside placeholders are redacted on their own. Overlapping
 * vendor spans are merged (the earliest, longest one names the type).
 */
export function applyVendorSpans(local: RedactionResult, spans: readonly VendorSpan[], vault: PlaceholderVault): RedactionResult {
  const text = local.text;
  const merged: VendorSpan[] = [];
  for (const span of [...spans].sort((a, b) => a.start - b.start || b.end - a.end)) {
    const last = merged.at(-1);
    if (last && span.start < last.end) last.end = Math.max(last.end, span.end);
    else merged.push({ ...span });
  }
  const pieces = merged.flatMap((span) => outside(span, local.entities, text));
  type Cut = { start: number; end: number; type: EntityType; local: boolean };
  const cuts: Cut[] = [
    ...local.entities.map((e) => ({ start: e.start, end: e.end, type: e.type, local: true })),
    ...pieces.map((p) => ({ ...p, local: false })),
  ].sort((a, b) => a.start - b.start);
  let out = '';
  let cursor = 0;
  const entities: RedactionResult['entities'] = [];
  for (const cut of cuts) {
    const original = text.slice(cut.start, cut.end);
    const placeholder = cut.local ? original : vault.placeholderFor(cut.type, original);
    out += text.slice(cursor, cut.start);
    entities.push({ type: cut.type, start: out.length, end: out.length + placeholder.length, placeholder });
    out += placeholder;
    cursor = cut.end;
  }
  out += text.slice(cursor);
  return { text: out, entities };
}

const cutEdge = /[\s\p{P}\p{S}]/u;

/** The parts of a span outside the local placeholders, trimmed where a placeholder cut them. */
function outside(span: VendorSpan, placeholders: RedactionResult['entities'], text: string): VendorSpan[] {
  const pieces: VendorSpan[] = [];
  let start = span.start;
  let trimStart = false;
  for (const p of placeholders) {
    if (p.end <= start || p.start >= span.end) continue;
    if (p.start > start) pieces.push(trim(text, { type: span.type, start, end: p.start }, trimStart, true));
    start = Math.max(start, p.end);
    trimStart = true;
  }
  if (start < span.end) pieces.push(trim(text, { type: span.type, start, end: span.end }, trimStart, false));
  return pieces.filter((p) => p.end > p.start && /[\p{L}\p{N}]/u.test(text.slice(p.start, p.end)));
}

function trim(text: string, piece: VendorSpan, atStart: boolean, atEnd: boolean): VendorSpan {
  let { start, end } = piece;
  while (atStart && start < end && cutEdge.test(text[start] ?? '')) start++;
  while (atEnd && end > start && cutEdge.test(text[end - 1] ?? '')) end--;
  return { type: piece.type, start, end };
}
