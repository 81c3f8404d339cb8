import { isVigilError, type VigilError } from '@vigil/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSkyflowRedactor, defaultSkyflowEntityTypes, PlaceholderVault, type SkyflowRedactorOptions } from '../src/index.js';
import { startFakeSkyflow, type DetectionRule, type FakeSkyflow, type FakeSkyflowOptions } from './fakes/skyflow.fake.js';

const apiKey = 'sky-CANARY-3f9c2e7a1b-api-key';
const vaultId = 'a1b2c3d4e5f6';
const rules: DetectionRule[] = [
  { type: 'name', pattern: /\b(?:Ana Ruiz|John Doe|Zoë Ñúñez)\b/u },
  { type: 'location_address', pattern: /\b\d{1,5} [A-Z][a-z]+ (?:Street|Avenue)(?: \d{5})?/ },
  { type: 'location_zip', pattern: /\b\d{5}\b/ },
  { type: 'dob', pattern: /(?<=born )\d{4}-\d\d-\d\d/ },
  // Unicode local parts too, which the local detectors do not take.
  { type: 'email_address', pattern: /[\p{L}\p{N}._+-]+@[\w-]+\.[a-z]{2,}/u },
  // Facts a generous vendor reports unasked: they must survive.
  { type: 'duration', pattern: /\b\d+ms\b/, always: true },
  { type: 'time', pattern: /\b\d\d:\d\d(?::\d\d)?Z?/, always: true },
  { type: 'numerical_pii', pattern: /\b(?:pid|port) \d+/, always: true },
];

const fakes: FakeSkyflow[] = [];
async function fake(overrides: Partial<FakeSkyflowOptions> = {}): Promise<FakeSkyflow> {
  const f = await startFakeSkyflow({ apiKey, vaultId, rules, ...overrides });
  fakes.push(f);
  return f;
}
afterAll(() => Promise.all(fakes.map((f) => f.close())));

const redactorFor = (f: FakeSkyflow, options: Partial<SkyflowRedactorOptions> = {}) =>
  createSkyflowRedactor({ vaultId, vaultURL: f.url, apiKey, ...options });

const incident =
  'Checkout failing since 03:12Z: pid 4312 on port 5432 timed out after 870ms. ' +
  'Customer Ana Ruiz (ana.ruiz@example.com, born 1984-03-09) at 12 Baker Street 94107 reported it; ' +
  'DB password=Tr0ub4dor&3 in the job log.';

describe('Skyflow redactor against a loopback Skyflow Detect', () => {
  let server: FakeSkyflow;
  beforeAll(async () => {
    server = await fake();
  });

  it('redacts what the local detectors and Skyflow find, with stable placeholders, and keeps the facts', async () => {
    const vault = new PlaceholderVault();
    const result = await redactorFor(server).redact(incident, vault);
    expect(result.text).toBe(
      'Checkout failing since 03:12Z: pid 4312 on port 5432 timed out after 870ms. ' +
        'Customer [NAME_1] ([EMAIL_1], born [DATE_OF_BIRTH_1]) at [ADDRESS_1] reported it; ' +
        'DB password=[PASSWORD_1] in the job log.',
    );
    expect(result.entities.map((e) => e.type)).toEqual(['NAME', 'EMAIL', 'DATE_OF_BIRTH', 'ADDRESS', 'PASSWORD']);
    for (const e of result.entities) expect(result.text.slice(e.start, e.end)).toBe(e.placeholder);
    expect(vault.rehydrate(result.text)).toBe(incident);

    // Same incident, later text: the same person and address get the same placeholders.
    const later = await redactorFor(server).redact('Ana Ruiz called again from 12 Baker Street 94107', vault);
    expect(later.text).toBe('[NAME_1] called again from [ADDRESS_1]');
  });

  it('speaks the documented protocol and sends Skyflow only what the local detectors left', async () => {
    const before = server.requests.length;
    await redactorFor(server).redact(incident, new PlaceholderVault());
    const request = server.requests[before];
    expect(request?.headers.authorization).toBe(`Bearer ${apiKey}`);
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.body).toEqual({
      vault_id: vaultId,
      text: expect.any(String),
      entity_types: [...defaultSkyflowEntityTypes],
      token_type: { default: 'entity_only' },
    });
    // Credentials and addresses the local detectors know never leave the process.
    const sent = String(request?.body?.text);
    expect(sent).toContain('[EMAIL_1]');
    expect(sent).toContain('[PASSWORD_1]');
    expect(sent).not.toContain('ana.ruiz@example.com');
    expect(sent).not.toContain('Tr0ub4dor&3');
    expect(request?.raw).not.toContain(apiKey);
  });

  it('asks for IP addresses only when the local options do', async () => {
    const before = server.requests.length;
    const text = 'upstream 10.2.3.4 reset by Ana Ruiz';
    expect((await redactorFor(server).redact(text, new PlaceholderVault())).text).toBe('upstream 10.2.3.4 reset by [NAME_1]');
    const ips = await redactorFor(server, { local: { redactIpAddresses: true } }).redact(text, new PlaceholderVault());
    expect(ips.text).toBe('upstream [IP_ADDRESS_1] reset by [NAME_1]');
    expect(server.requests[before]?.body?.entity_types).not.toContain('ip_address');
    expect(server.requests[before + 1]?.body?.entity_types).toContain('ip_address');
  });

  it('redacts a fact label when the configuration asks for it', async () => {
    const result = await redactorFor(server, { entityTypes: ['name', 'time'] }).redact('paged Ana Ruiz at 03:12Z', new PlaceholderVault());
    expect(result.text).toBe('paged [NAME_1] at [PII_1]');
  });

  it('keeps local placeholders when a Skyflow entity overlaps them, and redacts the rest of it', async () => {
    // Skyflow reads "John Doe <[EMAIL_1]>" as one name: the email keeps its local placeholder.
    const overlapping = await fake({ rules: [{ type: 'name', pattern: /John Doe <[^>]*>/ }] });
    const vault = new PlaceholderVault();
    const result = await redactorFor(overlapping).redact('From: John Doe <john@example.com> re: pid 77', vault);
    expect(result.text).toBe('From: [NAME_1] <[EMAIL_1]> re: pid 77');
    expect(vault.rehydrate('[NAME_1]|[EMAIL_1]')).toBe('John Doe|john@example.com');
  });

  describe('unicode text', () => {
    const text = '🚨🔥 on-call Zoë Ñúñez 👩🏽‍💻 (zoë@example.com) paged at 03:12Z for pid 4312 at 9 Rue Avenue 75011';
    const expected = '🚨🔥 on-call [NAME_1] 👩🏽‍💻 ([EMAIL_1]) paged at 03:12Z for pid 4312 at [ADDRESS_1]';
    for (const [label, options] of [
      ['code-point indexes (a Python service)', { indexUnit: 'codepoint' }],
      ['UTF-16 indexes', { indexUnit: 'utf16' }],
      ['code-point indexes without values', { indexUnit: 'codepoint', omitValue: true }],
      ['upper-case entity types', { upperCaseTypes: true }],
    ] as const) {
      it(`places entities right with ${label}`, async () => {
        const f = await fake(options);
        const vault = new PlaceholderVault();
        const result = await redactorFor(f).redact(text, vault);
        expect(result.text).toBe(expected);
        expect(vault.rehydrate(result.text)).toBe(text);
      });
    }
  });

  it('skips the call for blank text', async () => {
    const before = server.requests.length;
    expect((await redactorFor(server).redact(' \n\t', new PlaceholderVault())).text).toBe(' \n\t');
    expect(server.requests.length).toBe(before);
  });
});

describe('when Skyflow cannot redact, the caller gets an error and no text', () => {
  const failing = async (run: (f: FakeSkyflow) => Promise<unknown>): Promise<VigilError> => {
    const f = await fake();
    const error = await run(f).then(
      (value) => {
        throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
      },
      (err: unknown) => err,
    );
    if (!isVigilError(error)) throw error;
    return error;
  };

  it('401: the key is refused (not retryable)', async () => {
    const error = await failing((f) =>
      createSkyflowRedactor({ vaultId, vaultURL: f.url, apiKey: 'sky-wrong' }).redact(incident, new PlaceholderVault()),
    );
    expect(error.code).toBe('SKYFLOW_UNAUTHORIZED');
    expect(error.retryable).toBe(false);
    expect(error.details).toMatchObject({ status: 401, grpcCode: 16, requestId: expect.stringMatching(/^req-/) });
  });

  it('404 for an unknown vault: the request is rejected (not retryable)', async () => {
    const error = await failing((f) =>
      createSkyflowRedactor({ vaultId: 'othervault', vaultURL: f.url, apiKey }).redact(incident, new PlaceholderVault()),
    );
    expect(error.code).toBe('SKYFLOW_REQUEST_REJECTED');
    expect(error.retryable).toBe(false);
  });

  it('500: unavailable (retryable)', async () => {
    const error = await failing((f) => {
      f.failNext({ status: 500 });
      return redactorFor(f).redact(incident, new PlaceholderVault());
    });
    expect(error.code).toBe('SKYFLOW_UNAVAILABLE');
    expect(error.retryable).toBe(true);
    expect(error.details).toMatchObject({ status: 500, grpcCode: 13, httpStatus: 'Internal Server Error' });
  });

  it('429: rate limited, with the Retry-After hint', async () => {
    const error = await failing((f) => {
      f.failNext({ status: 429, retryAfter: 7 });
      return redactorFor(f).redact(incident, new PlaceholderVault());
    });
    expect(error.code).toBe('SKYFLOW_RATE_LIMITED');
    expect(error.retryAfterMs).toBe(7000);
  });

  it('no answer within the timeout (retryable)', async () => {
    const error = await failing((f) => {
      f.failNext({ stall: true });
      return redactorFor(f, { timeoutMs: 300 }).redact(incident, new PlaceholderVault());
    });
    expect(error.code).toBe('SKYFLOW_TIMEOUT');
    expect(error.retryable).toBe(true);
  });

  it('nothing listening (retryable)', async () => {
    const error = await failing(async (f) => {
      await f.close();
      return redactorFor(f).redact(incident, new PlaceholderVault());
    });
    expect(error.code).toBe('SKYFLOW_UNREACHABLE');
    expect(error.retryable).toBe(true);
  });

  it('an answer that does not describe the text sent', async () => {
    for (const body of [{ processed_text: 'x', entities: [{ value: 'Someone Else', entity_type: 'name' }] }, { entities: 'nope' }]) {
      const error = await failing((f) => {
        f.failNext({ body });
        return redactorFor(f).redact(incident, new PlaceholderVault());
      });
      expect(error.code).toBe('SKYFLOW_RESPONSE_INVALID');
    }
  });

  it("the caller's own abort wins over ours", async () => {
    const f = await fake();
    f.failNext({ stall: true });
    const controller = new AbortController();
    const pending = redactorFor(f).redact(incident, new PlaceholderVault(), { signal: controller.signal });
    controller.abort(new Error('incident budget spent'));
    await expect(pending).rejects.toThrow('incident budget spent');
  });
});

describe('configuration', () => {
  const base = { vaultId, vaultURL: 'https://abc123.vault.skyflowapis.com', apiKey };
  const refusal = (options: Partial<SkyflowRedactorOptions>): string => {
    try {
      createSkyflowRedactor({ ...base, ...options } as SkyflowRedactorOptions);
    } catch (err) {
      if (isVigilError(err, 'SKYFLOW_CONFIG_INVALID')) return err.message;
      throw err;
    }
    throw new Error('accepted');
  };

  it('names what is wrong', () => {
    expect(refusal({ vaultId: '' })).toMatch(/SKYFLOW_VAULT_ID/);
    expect(refusal({ vaultId: 'a/b' })).toMatch(/SKYFLOW_VAULT_ID/);
    expect(refusal({ apiKey: ' ' })).toMatch(/SKYFLOW_API_KEY/);
    expect(refusal({ vaultURL: 'not a url' })).toMatch(/SKYFLOW_VAULT_URL/);
    expect(refusal({ vaultURL: 'http://abc123.vault.skyflowapis.com' })).toMatch(/https/);
    expect(refusal({ vaultURL: 'https://user:pw@abc123.vault.skyflowapis.com' })).toMatch(/credentials/);
    expect(refusal({ timeoutMs: 0 })).toMatch(/timeoutMs/);
    expect(refusal({ entityTypes: ['Name'] })).toMatch(/entityTypes/);
    expect(refusal({ entityTypes: [] })).toMatch(/entityTypes/);
  });

  it('accepts https anywhere and http to a loopback host only', () => {
    for (const vaultURL of ['https://abc123.vault.skyflowapis.com', 'http://127.0.0.1:9', 'http://localhost:9/prefix', 'http://[::1]:9'])
      expect(createSkyflowRedactor({ ...base, vaultURL }).name).toBe('local+skyflow');
  });

  it('never puts the key in a message', () => {
    expect(refusal({ vaultURL: 'ftp://x' })).not.toContain(apiKey);
  });
});

describe('canary: the secrets appear in no output', () => {
  const canaries = [apiKey, 'Ana Ruiz', 'ana.ruiz@example.com', 'Tr0ub4dor&3', '12 Baker Street', '1984-03-09'];
  const everythingSaid = (value: unknown): string => {
    const parts: string[] = [];
    let e: unknown = value;
    while (e instanceof Error) {
      parts.push(String(e), e.stack ?? '', JSON.stringify(e));
      e = e.cause;
    }
    if (!(value instanceof Error)) parts.push(JSON.stringify(value));
    return parts.join('\n');
  };

  it('holds for the result and for every failure', async () => {
    const outputs: unknown[] = [];
    const f = await fake();
    outputs.push(await redactorFor(f).redact(incident, new PlaceholderVault()));
    f.failNext(
      { status: 401 },
      { status: 500 },
      { status: 429, retryAfter: 1 },
      { body: { entities: [{ value: 'nobody', entity_type: 'name' }] } },
    );
    for (let i = 0; i < 4; i++)
      outputs.push(
        await redactorFor(f)
          .redact(incident, new PlaceholderVault())
          .catch((err: unknown) => err),
      );
    f.failNext({ stall: true });
    outputs.push(
      await redactorFor(f, { timeoutMs: 200 })
        .redact(incident, new PlaceholderVault())
        .catch((err: unknown) => err),
    );
    outputs.push(
      await createSkyflowRedactor({ vaultId, vaultURL: f.url, apiKey: 'sky-bad' })
        .redact(incident, new PlaceholderVault())
        .catch((e: unknown) => e),
    );
    await f.close();
    outputs.push(
      await redactorFor(f)
        .redact(incident, new PlaceholderVault())
        .catch((err: unknown) => err),
    );
    expect(outputs.filter((o) => o instanceof Error)).toHaveLength(7);
    const said = outputs.map(everythingSaid).join('\n');
    for (const canary of canaries) expect(said).not.toContain(canary);
  });
});
