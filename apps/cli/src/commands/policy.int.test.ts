import { describe, expect, it } from 'vitest';
import { vigil } from '../../test/run-vigil.js';

describe('vigil policy check', () => {
  it('allow → exit 0, with the decision, the risk and no findings', async () => {
    const result = await vigil(['policy', 'check', '--sql', 'SELECT pg_terminate_backend(4242)']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ decision: 'allow', risk: 'LOW', findings: [] });
  });

  it('review → exit 4; deny → exit 3, naming the rule and the span', async () => {
    expect((await vigil(['policy', 'check', '--shell', 'systemctl stop postgresql'])).code).toBe(4);
    const denied = await vigil(['policy', 'check', '--shell', 'echo ok; rm -rf /']);
    expect(denied.code).toBe(3);
    expect(JSON.parse(denied.stdout).findings[0]).toEqual({
      rule: 'shell-rm-broad',
      message: 'rm -r of a broad, relative or system path',
      span: [9, 17],
    });
  });

  it('checks every step of a plan and takes the strictest', async () => {
    const plan = {
      steps: [
        { kind: 'action', id: 'a', action: 'postgres.terminate_backend', params: { pid: 1 } },
        { kind: 'script', id: 'b', language: 'sql', code: 'TRUNCATE orders' },
      ],
      confidence: 0.9,
      risk: 'LOW',
      producedBy: 'test',
    };
    const { writeFile, mkdtemp } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const file = join(await mkdtemp(join(tmpdir(), 'vigil-plan-')), 'plan.json');
    await writeFile(file, JSON.stringify(plan));
    const result = await vigil(['policy', 'check', '--plan', file]);
    expect(result.code).toBe(3);
    expect(JSON.parse(result.stdout)).toMatchObject({ decision: 'deny', risk: 'CRITICAL', findings: [{ rule: 'sql-truncate' }] });
  });

  it('usage errors → exit 2 with the reason', async () => {
    const none = await vigil(['policy', 'check']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('exactly one of --sql, --shell or --plan');
    const notPlan = await vigil(['policy', 'check', '--plan', '/dev/null']);
    expect(notPlan.code).toBe(2);
  });
});
