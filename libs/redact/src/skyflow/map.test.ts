import { describe, expect, it } from 'vitest';
import { PlaceholderVault, redact } from '../redactor.js';
import { applyVendorSpans, defaultSkyflowEntityTypes, placeholderTypeFor, spansFromResponse } from './map.js';

const requested = new Set<string>(defaultSkyflowEntityTypes);
const entity = (value: string | undefined, start: number, end: number, type = 'name') => ({
  ...(value === undefined ? {} : { value }),
  token: `[${type.toUpperCase()}]`,
  entity_type: type,
  location: { start_index: start, end_index: end },
});
const spans = (text: string, ...entities: unknown[]) => spansFromResponse(text, { processed_text: '', entities }, requested);
const cut = (text: string, found: Array<{ start: number; end: number }>) => found.map((s) => text.slice(s.start, s.end));

describe('Skyflow labels', () => {
  it('map onto placeholder types, case-insensitively; unknown labels are personal data', () => {
    expect(placeholderTypeFor('name_given')).toBe('NAME');
    expect(placeholderTypeFor('EMAIL_ADDRESS')).toBe('EMAIL');
    expect(placeholderTypeFor('location_zip')).toBe('ADDRESS');
    expect(placeholderTypeFor('password')).toBe('PASSWORD');
    expect(placeholderTypeFor('religion')).toBe('PII');
    expect(placeholderTypeFor('')).toBe('PII');
  });

  it('of operational facts are kept unless asked for', () => {
    const text = 'took 870ms at 03:12 for pid 4312';
    const facts = [entity('870ms', 5, 10, 'duration'), entity('03:12', 14, 19, 'time'), entity('4312', 28, 32, 'numerical_pii')];
    expect(spans(text, ...facts)).toEqual([]);
    expect(cut(text, spansFromResponse(text, { entities: facts }, new Set(['time'])))).toEqual(['03:12']);
  });

  it('the default request asks for no fact label', () => {
    for (const t of defaultSkyflowEntityTypes) expect(['time', 'duration', 'date', 'numerical_pii', 'ip_address', 'url']).not.toContain(t);
  });
});

describe('placing entities', () => {
  it('reads end_index as exclusive or inclusive, whichever gives the value', () => {
    const text = 'owner John Doe paged';
    expect(cut(text, spans(text, entity('John Doe', 6, 14)))).toEqual(['John Doe']);
    expect(cut(text, spans(text, entity('John Doe', 6, 13)))).toEqual(['John Doe']);
  });

  it('reads code-point indexes (Python) where JavaScript counts UTF-16 units', () => {
    const text = '🔥🔥 owner Zoë Ñúñez 👩🏽‍💻 paged';
    const cp = [...text];
    const start = cp.indexOf('Z');
    const found = spans(text, entity('Zoë Ñúñez', start, start + 9));
    expect(cut(text, found)).toEqual(['Zoë Ñúñez']);
    expect(found[0]?.start).toBe(text.indexOf('Zoë'));
  });

  it('finds the right one of two occurrences from code-point indexes', () => {
    // Code points: 🔥 🔥 space A n a space A n a — the second "Ana" starts at code point 7, unit 9.
    const text = '🔥🔥 Ana Ana';
    expect(spans(text, entity('Ana', 7, 10))).toEqual([{ type: 'NAME', start: 9, end: 12 }]);
  });

  it('redacts both places when both readings of the indexes give the value', () => {
    const text = '🔥🔥🔥🔥 Ana Ana'; // the second "Ana": code point 9, and unit 9 is the first one
    expect(spans(text, entity('Ana', 9, 12)).map((s) => s.start)).toEqual([9, 13]);
  });

  it('falls back to the nearest occurrence of the value when no reading of the indexes fits', () => {
    const text = 'Ana wrote to Ana';
    expect(spans(text, entity('Ana', 12, 14))).toEqual([{ type: 'NAME', start: 13, end: 16 }]);
  });

  it('without a location, redacts every occurrence of the value', () => {
    const text = 'Ana and Ana';
    expect(spans(text, { value: 'Ana', entity_type: 'name' })).toHaveLength(2);
  });

  it('without a value, widens code-point indexes to whole words and never splits a surrogate pair', () => {
    const text = '👩🏽 Zoë Ñúñez, pid 4312';
    // Code points: 👩 🏽 space Z … — an index that would cut into the name is widened.
    const found = spans(text, entity(undefined, 3, 7));
    expect(cut(text, found)).toEqual(['Zoë Ñúñez']);
    expect(cut('x John Doe y', spans('x John Doe y', entity(undefined, 2, 9)))).toEqual(['John Doe']);
  });

  it('refuses answers that do not describe the text sent', () => {
    const refuse = (body: unknown) => () => spansFromResponse('owner John Doe', body, requested);
    for (const body of [
      { entities: [entity('Jane Roe', 6, 14)] },
      { entities: [{ entity_type: 'name' }] },
      { entities: [entity(undefined, 40, 44)] },
      { entities: 'John Doe' },
      'not an object',
    ]) {
      expect(refuse(body)).toThrowError(expect.objectContaining({ code: 'SKYFLOW_RESPONSE_INVALID' }));
    }
  });

  it('accepts an answer with no entities', () => {
    expect(spansFromResponse('nothing here', { processed_text: 'nothing here', word_count: 2, character_count: 12 }, requested)).toEqual(
      [],
    );
  });
});

describe('the union with the local result', () => {
  it('keeps local placeholders, merges overlapping vendor spans and trims only where a placeholder cuts', () => {
    const vault = new PlaceholderVault();
    const local = redact('mail Ana Ruiz (ana@example.com) at 12 Main Street 94107 now', vault);
    expect(local.text).toBe('mail Ana Ruiz ([EMAIL_1]) at 12 Main Street 94107 now');
    const t = local.text;
    const at = (s: string) => t.indexOf(s);
    const result = applyVendorSpans(
      local,
      [
        { type: 'NAME', start: at('Ana Ruiz'), end: at(') at') + 1 }, // "Ana Ruiz ([EMAIL_1])"
        { type: 'ADDRESS', start: at('Main'), end: at(' now') }, // "Main Street 94107"
        { type: 'ADDRESS', start: at('12 Main'), end: at(' Street') }, // starts first: names the merged span
        { type: 'PII', start: at('94107'), end: at(' now') }, // nested
        { type: 'NAME', start: at('EMAIL_1'), end: at('EMAIL_1') + 7 }, // inside a placeholder: dropped
      ],
      vault,
    );
    expect(result.text).toBe('mail [NAME_1] ([EMAIL_1]) at [ADDRESS_1] now');
    expect(vault.rehydrate(result.text)).toBe('mail Ana Ruiz (ana@example.com) at 12 Main Street 94107 now');
    for (const e of result.entities) expect(result.text.slice(e.start, e.end)).toBe(e.placeholder);
    expect(result.entities.map((e) => e.type)).toEqual(['NAME', 'EMAIL', 'ADDRESS']);
  });

  it('leaves the local result as it is when the vendor found nothing', () => {
    const vault = new PlaceholderVault();
    const local = redact('token=abc123secretvalue for pid 4312', vault);
    expect(applyVendorSpans(local, [], vault)).toEqual(local);
  });
});
