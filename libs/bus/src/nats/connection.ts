import type { ConnectionOptions } from '@nats-io/transport-node';

/**
 * nats.js does not read credentials from URLs, so they are taken out here: `nats://user:pass@h`
 * becomes user/pass, `nats://token@h` a token. The servers list keeps no credentials.
 */
export function connectionOptions(url: string): Pick<ConnectionOptions, 'servers' | 'user' | 'pass' | 'token'> {
  const servers: string[] = [];
  let user: string | undefined;
  let pass: string | undefined;
  let token: string | undefined;
  for (const part of url
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    let parsed: URL;
    try {
      parsed = new URL(part.includes('://') ? part : `nats://${part}`);
    } catch {
      servers.push(part);
      continue;
    }
    if (parsed.username !== '' && parsed.password !== '') {
      user = decodeURIComponent(parsed.username);
      pass = decodeURIComponent(parsed.password);
    } else if (parsed.username !== '') {
      token = decodeURIComponent(parsed.username);
    }
    servers.push(`${parsed.protocol}//${parsed.host}`);
  }
  return {
    servers,
    ...(user === undefined ? {} : { user }),
    ...(pass === undefined ? {} : { pass }),
    ...(token === undefined ? {} : { token }),
  };
}

/** The URL(s) with any credentials removed, for messages and logs. */
export function withoutCredentials(url: string): string {
  return connectionOptions(url).servers?.toString() ?? '';
}
