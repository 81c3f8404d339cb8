export { canonicalJson } from './canonical-json.js';
export { entryHash, verifyChain, GENESIS_HASH, type ChainVerdict, type ChainHead, type TimelineEntry } from './chain.js';
