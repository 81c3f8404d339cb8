import { describe, expect, it } from 'vitest';
import { PlaceholderVault, type Redactor } from '../src/index.js';

/**
 * What every implementation of the redaction port promises, whatever detects: local secrets go,
 * operational facts stay, placeholders are stable within a vault and only the vault turns them back.
 */
export function redactorContract(name: string, make: () => Promise<Redactor> | Redactor): void {
  describe(`redactor contract: ${name}`, () => {
    const incident =
      'postgres on db-7 (pid 4312, port 5432) refused connections for 870ms at 03:12:09Z; ' +
      'DATABASE_URL=postgres://app:hunter2-Secret@db-7:5432/app; on-call ana@example.com, card 4111 1111 1111 1111';

    it('removes secrets and personal data and keeps the operational facts', async () => {
      const redactor = await make();
      const { text } = await redactor.redact(incident, new PlaceholderVault());
      for (const secret of ['hunter2-Secret', 'ana@example.com', '4111 1111 1111 1111']) expect(text).not.toContain(secret);
      for (const fact of ['pid 4312', 'port 5432', '870ms', '03:12:09Z', 'db-7', 'postgres']) expect(text).toContain(fact);
    });

    it('gives one value one placeholder across calls of the same incident, and a fresh vault starts again', async () => {
      const redactor = await make();
      const vault = new PlaceholderVault();
      const first = await redactor.redact('mail ana@example.com', vault);
      const second = await redactor.redact('again ana@example.com and bob@example.com', vault);
      expect(first.text).toBe('mail [EMAIL_1]');
      expect(second.text).toBe('again [EMAIL_1] and [EMAIL_2]');
      expect((await redactor.redact('bob@example.com', new PlaceholderVault())).text).toBe('[EMAIL_1]');
    });

    it('reports where each placeholder sits, and the vault turns them back', async () => {
      const redactor = await make();
      const vault = new PlaceholderVault();
      const result = await redactor.redact(incident, vault);
      expect(result.entities.length).toBeGreaterThanOrEqual(3);
      for (const e of result.entities) expect(result.text.slice(e.start, e.end)).toBe(e.placeholder);
      expect(vault.rehydrate(result.text)).toBe(incident);
    });

    it('leaves blank text alone', async () => {
      const redactor = await make();
      expect((await redactor.redact('  \n', new PlaceholderVault())).text).toBe('  \n');
    });
  });
}
