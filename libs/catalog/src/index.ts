export {
  parseCatalog,
  checksFor,
  loadCatalog,
  emptyCatalog,
  catalogFromConfig,
  describeTarget,
  maintenanceTarget,
  TOO_MANY_CONNECTIONS,
  ProbeKind,
  type ServiceCatalog,
  type ServiceEntry,
  type ExecutorTargets,
} from './catalog.js';
