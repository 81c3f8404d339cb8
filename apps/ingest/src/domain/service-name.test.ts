import { expect, it } from 'vitest';
import { ServiceName } from '@vigil/events';
import { toServiceName } from './service-name.js';

it.each([
  ['API Service', 'api-service'],
  ['payment-api', 'payment-api'],
  ['  Payments / API  ', 'payments-/-api'],
  ['team.checkout_v2', 'team.checkout_v2'],
  ['***', 'unknown'],
  [undefined, 'unknown'],
  ['-leading', 'leading'],
])('%j → %j, a valid service name', (label, expected) => {
  const name = toServiceName(label);
  expect(name).toBe(expected);
  expect(ServiceName.safeParse(name).success).toBe(true);
});
