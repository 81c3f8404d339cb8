/** The engine as a library: the benchmarks start it in-process and reuse the demo's pieces. */
export { runSecrets, services, startEngine, type Engine } from './engine.js';
export { startSplit, type Split } from './split.js';
export {
  createDemoDatabase,
  demoAlert,
  demoCatalog,
  demoEngineEnv,
  demoPolicy,
  demoScenarios,
  faultUrlFor,
  setConnectionLimit,
  pageWhenUnhealthy,
  freePort,
  freeServicePorts,
  freePorts,
  repoRoot,
  startChild,
  startPaymentApi,
  waitFor,
  type Child,
  type DemoDatabase,
  type DemoScenario,
} from './demo-setup.js';
