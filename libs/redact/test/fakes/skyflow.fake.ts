import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback Skyflow Detect (`POST /v1/detect/deidentify/string`) as documented: bearer auth,
 * `{ vault_id, text, entity_types?, token_type? }` in, `{ processed_text, entities[{ token,
 * value, location{ start_index, end_index, start_index_processed, end_index_processed },
 * entity_type, entity_scores }], word_count, character_count }` out, errors as
 * `{ error: { grpc_code, http_code, message, http_status, details } }`. It "detects" with the
 * rules it is given, as the real service would with its models.
 */
export interface DetectionRule {
  /** A Detect entity type (REST enum value). */
  type: string;
  pattern: RegExp;
  /** Reported even when the request did not ask for this type (the vendor being generous). */
  always?: boolean;
}

export interface FakeSkyflowOptions {
  apiKey: string;
  vaultId: string;
  rules: DetectionRule[];
  /** How indexes count: code points, as a Python service does (default), or UTF-16 units. */
  indexUnit?: 'codepoint' | 'utf16';
  /** Leave `value` out of the entities (it is optional in the documented type). */
  omitValue?: boolean;
  /** Report this entity type in upper case, as some SDK samples show (`EMAIL_ADDRESS`). */
  upperCaseTypes?: boolean;
}

export type FakeFailure = { status: number; retryAfter?: number } | { stall: true } | { body: unknown };

export interface FakeSkyflow {
  url: string;
  /** Every request that reached the route, accepted or not. */
  requests: Array<{ headers: IncomingHttpHeaders; raw: string; body: DeidentifyBody | undefined }>;
  /** The next answers, instead of detecting. */
  failNext(...failures: FakeFailure[]): void;
  close(): Promise<void>;
}

interface DeidentifyBody {
  vault_id?: unknown;
  text?: unknown;
  entity_types?: unknown;
  token_type?: { default?: unknown };
}

/** The REST enum `EntityType`. */
export const detectEntityTypes = new Set(
  'account_number age all bank_account blood_type condition corporate_action credit_card credit_card_expiration cvv date date_interval day dob dose driver_license drug duration effect email_address event filename financial_metric gender healthcare_number injury ip_address language location location_address location_address_street location_city location_coordinate location_country location_state location_zip marital_status medical_code medical_process money month name name_family name_given name_medical_professional numerical_pii occupation organization organization_id organization_medical_facility origin passport_number password phone_number physical_attribute political_affiliation product project religion routing_number sexuality ssn statistics time trend url username vehicle_id year zodiac_sign'.split(
    ' ',
  ),
);

const grpc: Record<number, [number, string]> = {
  400: [3, 'Bad Request'],
  401: [16, 'Unauthorized'],
  404: [5, 'Not Found'],
  429: [8, 'Too Many Requests'],
  500: [13, 'Internal Server Error'],
  503: [14, 'Service Unavailable'],
};
const errorBody = (status: number, message: string) => {
  const [code, text] = grpc[status] ?? [2, 'Unknown'];
  return { error: { grpc_code: code, http_code: status, message, http_status: text, details: [] } };
};

export async function startFakeSkyflow(options: FakeSkyflowOptions): Promise<FakeSkyflow> {
  const requests: FakeSkyflow['requests'] = [];
  const failures: FakeFailure[] = [];
  let requestNo = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
        if (res.destroyed) return;
        res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': `req-${++requestNo}`, ...headers });
        res.end(JSON.stringify(body));
      };
      if (req.method !== 'POST' || req.url !== '/v1/detect/deidentify/string')
        return send(404, errorBody(404, `no route ${req.method} ${req.url}`));
      let body: DeidentifyBody | undefined;
      try {
        body = JSON.parse(raw) as DeidentifyBody;
      } catch {
        body = undefined;
      }
      requests.push({ headers: req.headers, raw, body });
      if (req.headers.authorization !== `Bearer ${options.apiKey}`)
        return send(401, errorBody(401, `Invalid bearer token ${String(req.headers.authorization)}`));
      if (!String(req.headers['content-type']).startsWith('application/json')) return send(400, errorBody(400, 'content-type'));
      const problem = checkBody(body, options.vaultId);
      if (problem) return send(problem.status, errorBody(problem.status, problem.message));
      const failure = failures.shift();
      if (failure && 'stall' in failure) return; // never answers: the client's deadline must end it
      if (failure && 'body' in failure) return send(200, failure.body);
      if (failure)
        // Vendors quote the input in error messages; so does this one.
        return send(
          failure.status,
          errorBody(failure.status, `could not de-identify: ${String(body?.text)}`),
          failure.retryAfter ? { 'retry-after': String(failure.retryAfter) } : {},
        );
      send(200, detect(body as DeidentifyBody & { text: string }, options));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failNext: (...f) => void failures.push(...f),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function checkBody(body: DeidentifyBody | undefined, vaultId: string): { status: number; message: string } | undefined {
  if (!body || typeof body !== 'object') return { status: 400, message: 'body must be JSON' };
  if (typeof body.vault_id !== 'string' || body.vault_id === '') return { status: 400, message: 'vault_id is required' };
  if (body.vault_id !== vaultId) return { status: 404, message: `vault ${body.vault_id} not found` };
  if (typeof body.text !== 'string' || body.text === '') return { status: 400, message: 'text is required' };
  if (body.entity_types !== undefined) {
    if (!Array.isArray(body.entity_types) || body.entity_types.some((t) => typeof t !== 'string' || !detectEntityTypes.has(t)))
      return { status: 400, message: 'entity_types: invalid entity type' };
  }
  const token = body.token_type?.default;
  if (token !== undefined && !['entity_only', 'entity_unq_counter', 'vault_token'].includes(String(token)))
    return { status: 400, message: 'token_type.default: invalid' };
  return undefined;
}

function detect(body: DeidentifyBody & { text: string }, options: FakeSkyflowOptions) {
  const text = body.text;
  const asked = Array.isArray(body.entity_types) ? new Set(body.entity_types as string[]) : undefined;
  const found: Array<{ type: string; start: number; end: number }> = [];
  for (const rule of options.rules) {
    if (asked && !asked.has(rule.type) && !rule.always) continue;
    for (const m of text.matchAll(
      new RegExp(rule.pattern.source, rule.pattern.flags.includes('g') ? rule.pattern.flags : `${rule.pattern.flags}g`),
    )) {
      const start = m.index;
      const end = start + m[0].length;
      if (found.some((f) => start < f.end && f.start < end)) continue;
      found.push({ type: rule.type, start, end });
    }
  }
  found.sort((a, b) => a.start - b.start);
  const counters = new Map<string, number>();
  const count = (units: number): number => (options.indexUnit === 'utf16' ? units : [...text.slice(0, units)].length);
  let processed = '';
  let cursor = 0;
  const entities = found.map((f) => {
    const label = f.type.toUpperCase();
    const n = (counters.get(label) ?? 0) + 1;
    counters.set(label, n);
    const mode = body.token_type?.default ?? 'entity_unq_counter';
    const token = mode === 'entity_only' ? `[${label}]` : mode === 'vault_token' ? `tok-${label.toLowerCase()}-${n}` : `[${label}_${n}]`;
    processed += text.slice(cursor, f.start);
    const startProcessed = options.indexUnit === 'utf16' ? processed.length : [...processed].length;
    processed += token;
    cursor = f.end;
    return {
      token,
      ...(options.omitValue ? {} : { value: text.slice(f.start, f.end) }),
      location: {
        start_index: count(f.start),
        end_index: count(f.end),
        start_index_processed: startProcessed,
        end_index_processed: startProcessed + token.length,
      },
      entity_type: options.upperCaseTypes ? label : f.type,
      entity_scores: { [f.type]: 0.97 },
    };
  });
  processed += text.slice(cursor);
  return {
    processed_text: processed,
    entities,
    word_count: text.split(/\s+/).filter(Boolean).length,
    character_count: [...text].length,
  };
}
