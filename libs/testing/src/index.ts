export { natsUrl, databaseUrl, redisUrl, uniqueName, locateService } from './infra.js';
export { eventually, sleep, collect } from './wait.js';
export { startOwnedNatsServer, type OwnedNatsServer } from './nats-server.js';
export { startServiceProcess, freePort, repoRoot, type ServiceProcess } from './process.js';
export {
  createFaultDatabase,
  makeLockPileUp,
  startOwnedRedis,
  startHealthServer,
  startSilentServer,
  type FaultDatabase,
  type OwnedRedis,
} from './faults.js';
export { startChaos, type ChaosLine, type ChaosRun } from './chaos.js';
