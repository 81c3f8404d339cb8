import { describe, expect, it } from 'vitest';
import { corpus } from './corpus.fixtures.js';
import { entropy, ibanValid, luhn } from './detectors.js';
import { PlaceholderVault, redact } from './redactor.js';

describe('validators', () => {
  it('Luhn accepts real card numbers and refuses near misses', () => {
    expect(luhn('4111111111111111')).toBe(true);
    expect(luhn('4111111111111112')).toBe(false);
    expect(luhn('1234567890123')).toBe(false);
  });
  it('IBAN mod-97', () => {
    expect(ibanValid('GB82 WEST 1234 5698 7654 32')).toBe(true);
    expect(ibanValid('GB82 WEST 1234 5698 7654 33')).toBe(false);
  });
  it('entropy', () => {
    expect(entropy('aaaaaaaa')).toBe(0);
    expect(entropy('aB3dE5fG7hJ9kL1m')).toBeGreaterThan(3.9);
  });
});

describe('redaction over the labelled corpus', () => {
  it(`has at least 60 labelled texts (${corpus.length})`, () => {
    expect(corpus.length).toBeGreaterThanOrEqual(60);
  });

  it('removes every secret and keeps the operational facts (recall and survival reported)', () => {
    let secrets = 0;
    let removed = 0;
    let facts = 0;
    let survived = 0;
    const misses: string[] = [];
    for (const item of corpus) {
      const { text } = redact(item.text, new PlaceholderVault());
      for (const secret of item.secrets) {
        secrets++;
        if (!text.includes(secret)) removed++;
        else misses.push(`secret left: ${secret} in "${text}"`);
      }
      for (const fact of item.facts) {
        facts++;
        if (text.includes(fact)) survived++;
        else misses.push(`fact lost: ${fact} in "${text}"`);
      }
    }
    const recall = removed / secrets;
    const survival = survived / facts;
    process.stdout.write(
      `redaction corpus: recall ${removed}/${secrets} = ${recall.toFixed(3)}; facts survived ${survived}/${facts} = ${survival.toFixed(3)}\n`,
    );
    expect(misses).toEqual([]);
    expect(recall).toBe(1);
    expect(survival).toBe(1);
  });
});

describe('placeholders', () => {
  it('are stable within an incident and distinct per value', () => {
    const vault = new PlaceholderVault();
    const first = redact('mail ana@example.com then bob@example.com', vault).text;
    const second = redact('again ana@example.com', vault).text;
    expect(first).toBe('mail [EMAIL_1] then [EMAIL_2]');
    expect(second).toBe('again [EMAIL_1]');
  });

  it('turn back into the values on the server side only, deep inside plan parameters', () => {
    const vault = new PlaceholderVault();
    redact('postgres://app:s3cret@db/x and ana@example.com', vault);
    expect(vault.rehydrateDeep({ dsn: 'postgres://app:[PASSWORD_1]@db/x', to: ['[EMAIL_1]'], n: 3 })).toEqual({
      dsn: 'postgres://app:s3cret@db/x',
      to: ['ana@example.com'],
      n: 3,
    });
    expect(vault.rehydrate('[EMAIL_9] unknown stays')).toBe('[EMAIL_9] unknown stays');
  });

  it('survive a round trip through storage', () => {
    const vault = new PlaceholderVault();
    redact('ana@example.com 4111 1111 1111 1111', vault);
    const restored = PlaceholderVault.fromJSON(JSON.parse(JSON.stringify(vault)) as Array<[string, string]>);
    expect(restored.rehydrate('[EMAIL_1] [CARD_1]')).toBe('ana@example.com 4111 1111 1111 1111');
    expect(redact('new bob@example.com', restored).text).toBe('new [EMAIL_2]');
  });

  it('reports each entity with its type and position in the redacted text', () => {
    const result = redact('key AKIAIOSFODNN7EXAMPLE end');
    expect(result.entities).toEqual([{ type: 'AWS_ACCESS_KEY', start: 4, end: 22, placeholder: '[AWS_ACCESS_KEY_1]' }]);
    expect(result.text.slice(4, 22)).toBe('[AWS_ACCESS_KEY_1]');
  });

  it('redacts IP addresses only when asked: they are usually operational facts', () => {
    expect(redact('from 10.1.2.3').text).toBe('from 10.1.2.3');
    expect(redact('from 10.1.2.3', new PlaceholderVault(), { redactIpAddresses: true }).text).toBe('from [IP_ADDRESS_1]');
  });
});
