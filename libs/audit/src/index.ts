export { canonicalJson } from './canonical-json.js';
export { entryHash, verifyChain, GENESIS_HASH, type ChainVerdict, type TimelineEntry } from './chain.js';
