import { createNatsBus } from '@vigil/bus';
import { createEvent, exampleData } from '@vigil/events';
const bus = await createNatsBus({ url: 'nats://127.0.0.1:4222', name: 'prof', prefix: process.argv[2]! });
const evs = Array.from({ length: 20000 }, (_, i) =>
  createEvent('incident.triggered', { ...exampleData['incident.triggered'], dedupKey: `b${i}` }, { source: 'b' }),
);
let next = 0;
await Promise.all(
  Array.from({ length: 256 }, async () => {
    while (next < evs.length) await bus.publish(evs[next++]!);
  }),
);
await bus.close();
