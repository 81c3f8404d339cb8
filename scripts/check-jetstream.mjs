#!/usr/bin/env node
// Exit 0 when the NATS server at NATS_URL (default localhost) answers with JetStream enabled,
// 3 when it answers without JetStream, 2 when it cannot be reached. Used by .ci/run.
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
let nc;
try {
  nc = await connect({ servers: url, timeout: 3000 });
} catch (error) {
  console.error(`NATS at ${url} cannot be reached: ${error.message}`);
  process.exit(2);
}
try {
  await (await jetstreamManager(nc, { timeout: 3000 })).getAccountInfo();
  console.log(`NATS at ${url} has JetStream (server ${nc.info?.version})`);
  await nc.close();
  process.exit(0);
} catch (error) {
  console.error(`NATS at ${url} answers but JetStream is not enabled: ${error.message}`);
  await nc.close();
  process.exit(3);
}
