export { natsUrl, databaseUrl, redisUrl, uniqueName } from './infra.js';
export { eventually, sleep, collect } from './wait.js';
