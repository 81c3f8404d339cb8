import { describe, expect, it } from 'vitest';
import { VerificationCheck } from '@vigil/events';
import { checkProblems } from './validate.js';

const browser = (steps: Array<{ do: string; target?: string; value?: string }>, name = 'journey') =>
  VerificationCheck.parse({ kind: 'browser', name, steps });
const http = (name: string, url = 'http://127.0.0.1:1/healthz') => VerificationCheck.parse({ kind: 'http', name, url });
const postgres = (name: string, olderThanS?: number | string) =>
  VerificationCheck.parse({ kind: 'postgres', name, expect: 'no_idle_in_transaction', olderThanS });

describe('checkProblems', () => {
  it('accepts well-formed checks', () => {
    const journey = browser([
      { do: 'goto', target: 'http://127.0.0.1:1/login' },
      { do: 'type', target: '#user', value: 'ada' },
      { do: 'click', target: 'button' },
      { do: 'waitFor', target: '#welcome' },
      { do: 'expectText', value: 'Welcome' },
      { do: 'expectStatus', value: '200' },
    ]);
    expect(checkProblems([journey, http('health')])).toEqual([]);
  });

  it('names each check and step that lacks what its verb needs', () => {
    const problems = checkProblems([
      browser([
        { do: 'goto', target: '/relative' },
        { do: 'click' },
        { do: 'type', target: '#user' },
        { do: 'expectText' },
        { do: 'expectStatus', value: 'ok' },
      ]),
    ]);
    expect(problems).toEqual([
      'check "journey" step 1 (goto): target must be an absolute http(s) URL, got /relative',
      'check "journey" step 2 (click): target (a CSS selector) is required',
      'check "journey" step 3 (type): value (the text to type) is required',
      'check "journey" step 4 (expectText): value (the text to expect) is required',
      'check "journey" step 5 (expectStatus): value must be an HTTP status (100-599), got ok',
    ]);
  });

  it('a journey must start by going somewhere, names must be unique, URLs must be http(s)', () => {
    expect(checkProblems([browser([{ do: 'expectText', value: 'x' }])])).toEqual([
      'check "journey": the first step must be goto (a new context starts on a blank page)',
    ]);
    expect(checkProblems([http('a'), http('a')])).toEqual(['check names must be unique: "a" appears twice']);
    expect(checkProblems([http('ftp', 'ftp://127.0.0.1/x')])).toEqual(['check "ftp": url must be http(s), got ftp://127.0.0.1/x']);
  });

  it('a Postgres check with a database to read and a threshold is fine', () => {
    expect(checkProblems([postgres('idle', 10), postgres('default')], { service: 'payment-api', hasPostgresTarget: true })).toEqual([]);
  });

  it('a threshold still written as a template is no check at all: only runbooks hold templates', () => {
    expect(() => postgres('idle', '{{evidence.idle_threshold_s}}')).toThrow(/olderThanS/);
  });

  it('a Postgres check for a service whose catalog entry has no database cannot run', () => {
    const expected = [`check "idle": the verifier's service catalog (VIGIL_SERVICE_CATALOG) has no postgres target for payment-api`];
    expect(checkProblems([postgres('idle', 10)], { service: 'payment-api', hasPostgresTarget: false })).toEqual(expected);
    expect(checkProblems([postgres('idle', 10)], { service: 'payment-api' })).toEqual(expected);
    // HTTP and browser checks need no database.
    expect(checkProblems([http('health')], { service: 'payment-api', hasPostgresTarget: false })).toEqual([]);
  });
});
