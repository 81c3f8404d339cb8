export {
  parseCatalog,
  checksFor,
  loadCatalog,
  emptyCatalog,
  catalogFromConfig,
  describeTarget,
  ProbeKind,
  type ServiceCatalog,
  type ServiceEntry,
  type ExecutorTargets,
} from './catalog.js';
