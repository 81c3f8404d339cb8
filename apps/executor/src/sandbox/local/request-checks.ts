import type { ScriptRequest } from '../runner.js';

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Caps on what a request may ask for, so one step cannot exhaust the host. */
export const maxCodeBytes = 1024 * 1024;

/** The first thing wrong with the request, in words for the timeline; undefined when it is fine. */
export function requestProblem(request: ScriptRequest): string | undefined {
  const { limits } = request;
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isFinite(value) || value <= 0) return `limits.${name} must be a positive number, got ${String(value)}`;
  }
  if (limits.memoryBytes < 16 * 1024 * 1024) return `limits.memoryBytes must be at least 16 MiB, got ${limits.memoryBytes}`;
  if (Buffer.byteLength(request.code) > maxCodeBytes) return `the script is over ${maxCodeBytes} bytes`;
  for (const [name, value] of Object.entries(request.env)) {
    if (!envName.test(name)) return `environment variable name "${name}" is not a valid name`;
    if (name.startsWith('VIGIL_EGRESS_')) return `environment variable "${name}" is reserved for the sandbox's egress targets`;
    if (value.includes('\0')) return `environment variable "${name}" contains a NUL byte`;
  }
  return undefined;
}
