/** The engine as a library: the benchmarks start it in-process and reuse the demo's pieces. */
export { runSecrets, services, startEngine, type Engine } from './engine.js';
export { startSplit, type Split } from './split.js';
export {
  createDemoDatabase,
  demoAlert,
  demoCatalog,
  demoEngineEnv,
  demoPolicy,
  freePort,
  freeServicePorts,
  freePorts,
  repoRoot,
  startChild,
  startPaymentApi,
  waitFor,
  type Child,
  type DemoDatabase,
} from './demo-setup.js';
