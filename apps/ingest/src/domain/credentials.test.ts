import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bearerToken, matchesAny, verifyPagerDutySignature } from './credentials.js';

// PagerDuty's published test vector (go-pagerduty webhookv3_test.go; ../shared/reference/api-facts.md §1.6).
const vectorBody = readFileSync(new URL('../../test/fixtures/pagerduty-webhook-v3-test-body.json', import.meta.url));
const vectorSecret = 'lDQHScfUeXUKaQRNF+8XIiDKZ7XX3itBAYzwU0TARw8lJqRnkKl2iB1anSb0Z+IK';
const vectorValid = 'v1=0c0b9495b893a39e70d1fea2fe11fbe0a825f88b9f67846f6cc07dd2bc5476cd';
const vectorMismatch = 'v1=7020c8a7ec668a9b7012bc3dd82e483394b038f4230acc6785efbf2a7d8bcaf5';

describe('verifyPagerDutySignature', () => {
  it('accepts the published test vector and rejects its mismatch', () => {
    expect(vectorBody.length).toBe(1655);
    expect(verifyPagerDutySignature(vectorBody, vectorValid, [vectorSecret])).toBe('valid');
    expect(verifyPagerDutySignature(vectorBody, vectorMismatch, [vectorSecret])).toBe('mismatch');
  });

  it('accepts any matching signature during rotation, with any configured secret', () => {
    expect(verifyPagerDutySignature(vectorBody, `${vectorMismatch},${vectorValid}`, [vectorSecret])).toBe('valid');
    expect(verifyPagerDutySignature(vectorBody, ` ${vectorValid} , ${vectorMismatch}`, ['old-secret', vectorSecret])).toBe('valid');
    expect(verifyPagerDutySignature(vectorBody, vectorValid.toUpperCase().replace('V1=', 'v1='), [vectorSecret])).toBe('valid');
  });

  it('signs the raw bytes: the same JSON re-serialised does not verify', () => {
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(vectorBody.toString()), null, 1));
    expect(verifyPagerDutySignature(reserialised, vectorValid, [vectorSecret])).toBe('mismatch');
  });

  it('tells missing from malformed from wrong', () => {
    expect(verifyPagerDutySignature(vectorBody, undefined, [vectorSecret])).toBe('missing');
    expect(verifyPagerDutySignature(vectorBody, '  ', [vectorSecret])).toBe('missing');
    expect(verifyPagerDutySignature(vectorBody, 'v2=abc', [vectorSecret])).toBe('malformed');
    expect(verifyPagerDutySignature(vectorBody, 'v1=zz', [vectorSecret])).toBe('malformed');
    expect(verifyPagerDutySignature(vectorBody, vectorValid, ['another-secret'])).toBe('mismatch');
    expect(verifyPagerDutySignature(vectorBody, vectorValid, [])).toBe('mismatch');
  });

  it('a malformed v1 entry beside a valid one does not void it', () => {
    expect(verifyPagerDutySignature(vectorBody, `v1=zz,${vectorValid}`, [vectorSecret])).toBe('valid');
    expect(verifyPagerDutySignature(vectorBody, 'v1=zz,v1=', [vectorSecret])).toBe('malformed');
  });

  it('ignores signature versions it does not know beside a v1', () => {
    const sig = createHmac('sha256', 's').update('{}').digest('hex');
    expect(verifyPagerDutySignature(Buffer.from('{}'), `v9=whatever,v1=${sig}`, ['s'])).toBe('valid');
  });
});

describe('credentials', () => {
  it('matchesAny compares whole values, whatever their length', () => {
    expect(matchesAny('R0UTINGKEY0000000000000000000001', ['x', 'R0UTINGKEY0000000000000000000001'])).toBe(true);
    expect(matchesAny('R0UTINGKEY000000000000000000000', ['R0UTINGKEY0000000000000000000001'])).toBe(false);
    expect(matchesAny('', ['a'])).toBe(false);
    expect(matchesAny('a', [])).toBe(false);
  });

  it('bearerToken reads only a well-formed Bearer header', () => {
    expect(bearerToken('Bearer abc.def')).toBe('abc.def');
    expect(bearerToken('bearer   tok ')).toBe('tok');
    expect(bearerToken('Basic dXNlcjpwYXNz')).toBeUndefined();
    expect(bearerToken('Bearer')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});
