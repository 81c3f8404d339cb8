import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRunbook, remedyOf } from './runbook.js';

const dir = new URL('../../runbooks/', import.meta.url).pathname;

describe('runbooks', () => {
  it('every starter runbook parses, with sections that cite their lines', async () => {
    const files = (await readdir(dir)).filter((f) => f.endsWith('.md'));
    expect(files.length).toBeGreaterThanOrEqual(8);
    for (const file of files) {
      const text = await readFile(join(dir, file), 'utf8');
      const parsed = parseRunbook(file, text);
      expect(parsed.ok, JSON.stringify(parsed)).toBe(true);
      if (!parsed.ok) continue;
      expect(parsed.runbook.id).toBe(file.replace(/\.md$/, ''));
      for (const section of parsed.runbook.sections) {
        const lines = text
          .split('\n')
          .slice(section.lines[0] - 1, section.lines[1])
          .join('\n');
        expect(lines).toContain(section.text.split('\n')[0]);
      }
    }
  });

  it('the lock runbook prescribes a bindable remedy', async () => {
    const parsed = parseRunbook('pg-lock-contention.md', await readFile(join(dir, 'pg-lock-contention.md'), 'utf8'));
    if (!parsed.ok) throw new Error(parsed.problems.join());
    expect(remedyOf(parsed.runbook)).toMatchObject({
      risk: 'LOW',
      steps: [{ action: 'postgres.terminate_backend', params: { pid: '{{evidence.blocker_pid}}' } }],
    });
    expect(parsed.runbook.sections.map((s) => s.heading)).toEqual(['Symptoms', 'Diagnosis', 'Fix', 'Verify']);
  });

  it('rejects invalid front matter with the file, the field and the reason', () => {
    const bad = parseRunbook('bad.md', '---\nid: Not Valid\ntitle: x\nrisk: SCARY\nactions: [{ action: DROP }]\n---\nbody');
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.problems.join('\n')).toMatch(/bad\.md: id: /);
    expect(bad.problems.join('\n')).toMatch(/bad\.md: title: /);
    expect(bad.problems.join('\n')).toMatch(/bad\.md: risk: /);
    expect(bad.problems.join('\n')).toMatch(/bad\.md: actions\.0\.action: /);
    expect(parseRunbook('none.md', '# just markdown')).toEqual({
      ok: false,
      problems: ['none.md: no YAML front matter (a block between --- lines at the top)'],
    });
    expect(parseRunbook('yaml.md', '---\n: : :\n---\n')).toMatchObject({ ok: false });
  });
});
