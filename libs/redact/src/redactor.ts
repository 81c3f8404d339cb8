import { detect, type DetectOptions, type EntityType } from './detectors.js';

export interface RedactionResult {
  text: string;
  entities: Array<{ type: EntityType; start: number; end: number; placeholder: string }>;
}

/**
 * The placeholders of one incident: the same value always gets the same placeholder
 * (`[EMAIL_1]` means one address everywhere), and only the server can turn them back. Its
 * contents are secrets: kept server-side, never sent to a model, never logged.
 */
export class PlaceholderVault {
  private readonly byValue = new Map<string, string>();
  private readonly byPlaceholder = new Map<string, string>();
  private readonly counters = new Map<EntityType, number>();

  placeholderFor(type: EntityType, value: string): string {
    const key = `${type}\u0000${value}`;
    let placeholder = this.byValue.get(key);
    if (!placeholder) {
      const n = (this.counters.get(type) ?? 0) + 1;
      this.counters.set(type, n);
      placeholder = `[${type}_${n}]`;
      this.byValue.set(key, placeholder);
      this.byPlaceholder.set(placeholder, value);
    }
    return placeholder;
  }

  /**
   * Puts the real values back (for a plan's parameters, just before execution); with `only`,
   * just the placeholders of the types it accepts: the others stay placeholders.
   */
  rehydrate(text: string, only?: (type: EntityType) => boolean): string {
    return text.replace(/\[([A-Z_]+)_\d+\]/g, (placeholder, type: string) =>
      only && !only(type as EntityType) ? placeholder : (this.byPlaceholder.get(placeholder) ?? placeholder),
    );
  }

  /** Rehydrates every string inside a value (plan parameters). */
  rehydrateDeep<T>(value: T, only?: (type: EntityType) => boolean): T {
    if (typeof value === 'string') return this.rehydrate(value, only) as T;
    if (Array.isArray(value)) return value.map((v) => this.rehydrateDeep(v, only)) as T;
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.rehydrateDeep(v, only)])) as T;
    }
    return value;
  }

  get size(): number {
    return this.byPlaceholder.size;
  }

  toJSON(): Array<[string, string]> {
    return [...this.byPlaceholder.entries()];
  }

  static fromJSON(entries: Array<[string, string]>): PlaceholderVault {
    const vault = new PlaceholderVault();
    for (const [placeholder, value] of entries) {
      const match = /^\[([A-Z_]+)_(\d+)\]$/.exec(placeholder);
      if (!match) continue;
      const type = match[1] as EntityType;
      vault.byPlaceholder.set(placeholder, value);
      vault.byValue.set(`${type}\u0000${value}`, placeholder);
      vault.counters.set(type, Math.max(vault.counters.get(type) ?? 0, Number(match[2])));
    }
    return vault;
  }
}

/** Replaces every detected value with its placeholder from the vault. */
export function redact(text: string, vault: PlaceholderVault = new PlaceholderVault(), options: DetectOptions = {}): RedactionResult {
  const matches = detect(text, options);
  let out = '';
  let cursor = 0;
  const entities: RedactionResult['entities'] = [];
  for (const match of matches) {
    const placeholder = vault.placeholderFor(match.type, text.slice(match.start, match.end));
    out += text.slice(cursor, match.start);
    entities.push({ type: match.type, start: out.length, end: out.length + placeholder.length, placeholder });
    out += placeholder;
    cursor = match.end;
  }
  out += text.slice(cursor);
  return { text: out, entities };
}
