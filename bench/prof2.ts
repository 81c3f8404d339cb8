import { createNatsBus } from '@vigil/bus';
const bus = await createNatsBus({ url: 'nats://127.0.0.1:4222', name: 'prof', prefix: process.argv[2]! });
let seen = 0;
let done: () => void = () => {};
const fin = new Promise<void>((r) => (done = r));
const t = performance.now();
await bus.consume({
  durable: 'p',
  concurrency: 256,
  handlers: {
    'incident.triggered': async () => {
      if (++seen === 20000) done();
    },
  },
});
await fin;
console.log('consume ms', (performance.now() - t).toFixed(0));
await bus.close();
