import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { natsUrl, uniqueName } from '@vigil/testing';
import { busContract } from '../bus.contract.js';
import type { Bus } from '../port.js';
import { createNatsBus } from './nats-bus.js';
import { deleteNatsStreams } from './streams.js';

busContract('NATS JetStream', async (options) => {
  const url = await natsUrl();
  const prefix = uniqueName('bus');
  const buses: Bus[] = [];
  const open = async (): Promise<Bus> => {
    const bus = await createNatsBus({ url, name: 'contract-test', prefix, ...(options ?? {}) });
    buses.push(bus);
    return bus;
  };
  const bus = await open();
  const raw = await connect({ servers: url });
  return {
    bus,
    peer: open,
    injectRaw: async (subject, data, id) => {
      await jetstream(raw).publish(subject, data, { msgID: id });
    },
    cleanup: async () => {
      await Promise.all(buses.map((b) => b.close()));
      await raw.close();
      await deleteNatsStreams({ url, prefix });
    },
  };
});
