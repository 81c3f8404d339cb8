import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUrl, eventually, repoRoot, sleep } from '@vigil/testing';
import { createLocalSandbox } from '../src/sandbox/local-sandbox.js';
import type { ScriptRequest } from '../src/sandbox/runner.js';

// Real bubblewrap, real namespaces, real servers on loopback: every escape attempt is made for real.
const sandbox = createLocalSandbox();
const MiB = 1024 * 1024;
const limits = { timeoutMs: 20_000, memoryBytes: 256 * MiB, cpuSeconds: 10, outputBytes: 64 * 1024 };

function request(language: ScriptRequest['language'], code: string, extra: Partial<ScriptRequest> = {}): ScriptRequest {
  return { executionId: randomUUID(), incidentId: 'inc-1', service: 'checkout', language, code, egress: [], env: {}, limits, ...extra };
}

/** Host processes whose command line carries `marker` (what `pgrep -f` does, without needing procps). */
function processesWith(marker: string): number {
  let count = 0;
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)) count += 1;
    } catch {
      // exited meanwhile
    }
  }
  return count;
}

function listen<T extends HttpServer | TcpServer>(server: T): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

/** bash's /dev/tcp, so the tests need no curl: an HTTP/1.0 GET whose response goes to stdout. */
const httpGet = (host: string, port: string | number) =>
  `(exec 3<>/dev/tcp/${host}/${port} && printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3)`;

beforeAll(async () => {
  expect(await sandbox.available()).toEqual({ ok: true });
});

describe('local sandbox: running scripts', () => {
  it('runs a bash script as nobody in a private scratch dir, with only the declared environment', async () => {
    const result = await sandbox.run(
      request('bash', 'id -u\npwd\necho "$GREETING"\necho to-stderr >&2\necho made > note && cat note\n', { env: { GREETING: 'hello' } }),
    );
    expect(result).toEqual({
      stdout: '65534\n/scratch\nhello\nmade\n',
      stderr: 'to-stderr\n',
      exitCode: 0,
      truncated: false,
      timedOut: false,
    });
  });

  it('reports a non-zero exit as it is', async () => {
    const result = await sandbox.run(request('sh', 'echo failing\nexit 7\n'));
    expect(result).toMatchObject({ stdout: 'failing\n', exitCode: 7, timedOut: false });
    expect(result.refused).toBeUndefined();
  });

  it('runs python3 from /usr/bin', async () => {
    const result = await sandbox.run(request('python', 'import os\nprint(os.getuid(), os.getcwd())\n'));
    expect(result).toMatchObject({ stdout: '65534 /scratch\n', exitCode: 0 });
  });

  it('runs sql through psql against a database declared as egress', async () => {
    const url = new URL(await databaseUrl());
    const env: Record<string, string> = { PGUSER: decodeURIComponent(url.username), PGDATABASE: url.pathname.slice(1) };
    if (url.password) env.PGPASSWORD = decodeURIComponent(url.password);
    const result = await sandbox.run(request('sql', 'select 40 + 2 as answer;', { egress: [`${url.hostname}:${url.port || 5432}`], env }));
    expect(result.stderr).toBe('');
    expect(result).toMatchObject({ exitCode: 0 });
    expect(result.stdout).toMatch(/answer\s*\n-+\n\s*42\n/);
  });

  it('cuts each stream at the output limit and says so', async () => {
    const code = "head -c 100000 /dev/zero | tr '\\0' a\nhead -c 5000 /dev/zero | tr '\\0' b >&2\necho finished >&2\n";
    const result = await sandbox.run(request('bash', code, { limits: { ...limits, outputBytes: 1000 } }));
    expect(result).toMatchObject({ exitCode: 0, truncated: true, timedOut: false });
    expect(result.stdout).toBe('a'.repeat(1000));
    expect(result.stderr).toBe('b'.repeat(1000));
  });
});

describe('local sandbox: escape attempts', () => {
  const canary = `canary-${randomUUID()}`;

  beforeAll(() => {
    process.env.VIGIL_SANDBOX_CANARY = canary;
  });
  afterAll(() => {
    delete process.env.VIGIL_SANDBOX_CANARY;
  });

  it("cannot read the executor's environment, neither its own nor through /proc/1/environ", async () => {
    // Control: an ordinary child of this process does see the canary.
    expect(execFileSync('/bin/sh', ['-c', 'echo "$VIGIL_SANDBOX_CANARY"']).toString()).toContain(canary);
    const code = 'env\nfor f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do tr "\\0" "\\n" < "$f"; echo; done\n';
    const result = await sandbox.run(request('bash', code, { env: { DECLARED: 'yes' } }));
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('DECLARED=yes');
    expect(result.stdout).not.toContain(canary);
    expect(result.stdout).not.toMatch(/^HOME=/m);
  });

  it('cannot read /etc/shadow, /root or /home', async () => {
    expect(existsSync('/etc/shadow')).toBe(true);
    const result = await sandbox.run(
      request('bash', 'cat /etc/shadow; echo "shadow=$?"\nls /root; echo "root=$?"\nls /home; echo "home=$?"\n'),
    );
    expect(result.stdout).toMatch(/^shadow=[1-9]/m);
    expect(result.stdout).toMatch(/^root=[1-9]/m);
    expect(result.stdout).toMatch(/^home=[1-9]/m);
  });

  it('cannot write outside its scratch dir, and its /tmp is its own', async () => {
    const id = randomUUID();
    const hostTmpFile = join('/tmp', `vigil-host-${id}`);
    writeFileSync(hostTmpFile, 'host');
    const targets = [`/usr/vigil-${id}`, `/etc/vigil-${id}`, `${repoRoot}/vigil-${id}`, `/vigil-${id}`, `/run/vigil/vigil-${id}`];
    const code = [
      `for p in ${targets.join(' ')}; do if (mkdir -p "$(dirname "$p")" && echo x > "$p") 2>/dev/null; then echo "wrote $p"; else echo "refused $p"; fi; done`,
      'echo ok > /scratch/f && echo scratch-ok',
      'echo ok > /tmp/f && echo tmp-ok',
      `cat ${hostTmpFile} 2>/dev/null || echo host-tmp-hidden`,
    ].join('\n');
    try {
      const result = await sandbox.run(request('bash', code));
      for (const target of targets) {
        expect(result.stdout).toContain(`refused ${target}`);
        expect(existsSync(target)).toBe(false);
      }
      expect(result.stdout).not.toContain('wrote');
      expect(result.stdout).toContain('scratch-ok\ntmp-ok\nhost-tmp-hidden\n');
    } finally {
      rmSync(hostTmpFile, { force: true });
    }
  });

  it('holds no capabilities and cannot make user namespaces', async () => {
    const result = await sandbox.run(request('bash', 'grep CapEff /proc/self/status\nunshare -U true 2>/dev/null; echo "unshare=$?"\n'));
    expect(result.stdout).toContain('CapEff:\t0000000000000000\n');
    expect(result.stdout).toMatch(/^unshare=[1-9]/m);
  });

  it('contains a fork bomb: forks fail at the process limit and nothing outlives the run', async () => {
    const counted = await sandbox.run(
      request(
        'python',
        'import os, time\nn = 0\ntry:\n    while n < 300:\n        if os.fork() == 0:\n            time.sleep(30)\n            os._exit(0)\n        n += 1\nexcept OSError as e:\n    print("forked", n, "errno", e.errno)\n',
      ),
    );
    expect(counted.stdout).toMatch(/^forked \d+ errno 11\n$/);
    expect(Number(/forked (\d+)/.exec(counted.stdout)?.[1])).toBeLessThanOrEqual(64);

    const marker = `vigil-bomb-${randomUUID()}`;
    // The bomb dies with the script, so the script stays (sleeping) until its time limit.
    const bomb = `exec -a ${marker} bash -c 'b() { b | b & }; b; sleep 600'\n`;
    const running = sandbox.run(request('bash', bomb, { limits: { ...limits, timeoutMs: 5_000 } }));
    let peak = await eventually(() => processesWith(marker) || undefined, { message: 'the fork bomb never started' });
    for (let i = 0; i < 20; i++) {
      peak = Math.max(peak, processesWith(marker));
      await sleep(50);
    }
    const result = await running;
    expect(peak).toBeLessThanOrEqual(66);
    expect(result.timedOut).toBe(true);
    await eventually(() => processesWith(marker) === 0, { message: 'fork bomb processes outlived the sandbox' });
  });

  it('kills a script that runs past its time limit, with every process it started', async () => {
    const marker = `vigil-sleeper-${randomUUID()}`;
    const code = `(exec -a ${marker} sleep 600) &\n(exec -a ${marker} sleep 600) &\nexec -a ${marker} sleep 600\n`;
    const running = sandbox.run(request('bash', code, { limits: { ...limits, timeoutMs: 5_000 } }));
    await eventually(() => processesWith(marker) === 3, { message: 'the sleepers never started' });
    const result = await running;
    expect(result).toMatchObject({ timedOut: true, exitCode: null });
    await eventually(() => processesWith(marker) === 0, { message: 'processes outlived the time limit' });
  });

  it('kills the script on abort, with every process it started', async () => {
    const marker = `vigil-aborted-${randomUUID()}`;
    const controller = new AbortController();
    const running = sandbox.run(
      request('bash', `(exec -a ${marker} sleep 600) &\nexec -a ${marker} sleep 600\n`, { signal: controller.signal }),
    );
    await eventually(() => processesWith(marker) === 2, { message: 'the sleepers never started' });
    controller.abort();
    expect(await running).toMatchObject({ timedOut: false, exitCode: null });
    await eventually(() => processesWith(marker) === 0, { message: 'processes outlived the abort' });
  });

  it('stops a script at its CPU limit', async () => {
    const result = await sandbox.run(request('bash', 'while :; do :; done\n', { limits: { ...limits, cpuSeconds: 1 } }));
    expect(result.timedOut).toBe(false);
    expect(result.exitCode).toBe(128 + 24); // SIGXCPU
  });

  it('fails a script that eats memory past its limit', async () => {
    const code = 'small = bytearray(8 << 20)\nprint("small ok", flush=True)\nbig = bytearray(1 << 30)\nprint("big ok")\n';
    const result = await sandbox.run(request('python', code, { limits: { ...limits, memoryBytes: 128 * MiB } }));
    expect(result.stdout).toBe('small ok\n');
    expect(result.stderr).toContain('MemoryError');
    expect(result.exitCode).not.toBe(0);
    const shell = await sandbox.run(
      request('bash', 'big=$(head -c 400000000 /dev/zero | tr \'\\0\' x)\necho "len=${#big}"\n', {
        limits: { ...limits, memoryBytes: 128 * MiB },
      }),
    );
    expect(shell.stdout).not.toContain('len=');
    expect(shell.exitCode).not.toBe(0);
  });
});

describe('local sandbox: network', () => {
  const body = `declared-${randomUUID()}`;
  const declared = createHttpServer((_req, res) => res.end(body));
  let declaredRequests = 0;
  const undeclared = createTcpServer((socket) => socket.end('should never be reached\n'));
  let undeclaredConnections = 0;
  let declaredPort = 0;
  let undeclaredPort = 0;

  beforeAll(async () => {
    declared.on('request', () => (declaredRequests += 1));
    undeclared.on('connection', () => (undeclaredConnections += 1));
    declaredPort = await listen(declared);
    undeclaredPort = await listen(undeclared);
  });
  afterAll(async () => {
    await new Promise((resolve) => declared.close(resolve));
    await new Promise((resolve) => undeclared.close(resolve));
  });

  it('has no network at all without egress targets: only loopback, and nothing listens on it', async () => {
    const code = `${httpGet('127.0.0.1', declaredPort)}; echo "declared=$?"\ntail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '\n`;
    const result = await sandbox.run(request('bash', code));
    expect(result.stdout).toMatch(/^declared=[1-9]/m);
    expect(result.stdout).toMatch(/\nlo\n$/);
    expect(result.stdout).not.toContain(body);
    expect(declaredRequests).toBe(0);
  });

  it('reaches a declared target on loopback at the same port, and no other port', async () => {
    const code = [
      httpGet('127.0.0.1', declaredPort),
      'echo',
      httpGet('${VIGIL_EGRESS_0%:*}', '${VIGIL_EGRESS_0##*:}'),
      'echo',
      `${httpGet('127.0.0.1', undeclaredPort)}; echo "undeclared=$?"`,
    ].join('\n');
    const result = await sandbox.run(request('bash', code, { egress: [`127.0.0.1:${declaredPort}`] }));
    expect(result.stdout.split(body)).toHaveLength(3);
    expect(result.stdout).toMatch(/^undeclared=[1-9]/m);
    expect(declaredRequests).toBe(2);
    expect(undeclaredConnections).toBe(0);
  });

  it('presents a target below port 1024 without giving the script the right to bind one', async () => {
    // Nothing listens on the host's port 1: the forwarder inside accepts, then the relay drops the connection.
    const code = 'if (exec 3<>/dev/tcp/127.0.0.1/1) 2>/dev/null; then echo accepted-1; fi\ngrep CapEff /proc/self/status\n';
    const result = await sandbox.run(request('bash', code, { egress: ['127.0.0.1:1'] }));
    expect(result.stdout).toBe('accepted-1\nCapEff:\t0000000000000000\n');
  });
});

describe('local sandbox: refusals (fail closed)', () => {
  it('refuses everything when bubblewrap is missing', async () => {
    const missing = createLocalSandbox({ bwrapPath: '/nonexistent/bwrap' });
    const availability = await missing.available();
    expect(availability).toEqual({ ok: false, reason: expect.stringContaining('bubblewrap is not installed') });
    const result = await missing.run(request('sh', 'echo should-not-run'));
    expect(result).toMatchObject({ stdout: '', exitCode: null, refused: expect.stringContaining('/nonexistent/bwrap') });
  });

  it('refuses python when python3 is missing, and sql without a declared database', async () => {
    const noPython = createLocalSandbox({ pythonPath: '/nonexistent/python3' });
    expect((await noPython.run(request('python', 'print(1)'))).refused).toContain('python3 is not installed at /nonexistent/python3');
    expect((await sandbox.run(request('sql', 'select 1'))).refused).toContain('egress target');
  });

  it('refuses a malformed request, naming what is wrong', async () => {
    expect((await sandbox.run(request('sh', 'true', { egress: ['db.internal'] }))).refused).toContain('"db.internal" is not host:port');
    expect((await sandbox.run(request('sh', 'true', { egress: ['a.internal:80', 'b.internal:80'] }))).refused).toContain('share port 80');
    expect((await sandbox.run(request('sh', 'true', { env: { 'BAD-NAME': 'x' } }))).refused).toContain('"BAD-NAME"');
    expect((await sandbox.run(request('sh', 'true', { env: { VIGIL_EGRESS_0: 'x' } }))).refused).toContain('reserved');
    expect((await sandbox.run(request('sh', 'true', { limits: { ...limits, timeoutMs: 0 } }))).refused).toContain('limits.timeoutMs');
  });
});
