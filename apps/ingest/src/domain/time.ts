import { z } from 'zod';

/** A vendor timestamp (ISO-8601, with `Z`, `+00:00` or `+0000`), normalised to ISO UTC. */
export const VendorTime = z
  .string()
  .refine((value) => /^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(Date.parse(value)), 'an ISO-8601 date-time')
  .transform((value) => new Date(value).toISOString());
