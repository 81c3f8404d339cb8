import type { z } from 'zod';

/** zod issues as short phrases naming the field, e.g. `'payload.severity' must be one of …`. */
export function describeProblems(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    return path === '' ? issue.message : `'${path}': ${issue.message}`;
  });
}
