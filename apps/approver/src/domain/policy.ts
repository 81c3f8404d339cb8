import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { Risk } from '@vigil/events';

/** Someone who may decide: a person id, with the Slack user that is the same person. */
export interface Person {
  id: string;
  name?: string;
  slackUserId?: string;
}

const Id = z.string().trim().min(1).max(255);
const ApproverList = z.array(Id);

/**
 * Who may approve what. `approvers` is keyed by service (`*` for every service not listed) and
 * then by risk (`default` for a risk not listed); entries are person ids (or raw Slack user ids).
 * A service that is listed is decided by its own lists only.
 */
export const ApproverPolicy = z
  .object({
    people: z
      .record(
        Id,
        z
          .object({
            name: z.string().min(1).optional(),
            slack: z
              .string()
              .regex(/^[UW][A-Z0-9]+$/, 'a Slack user id like U024BE7LH')
              .optional(),
          })
          .strict(),
      )
      .default({}),
    approvers: z.record(Id, z.partialRecord(z.union([Risk, z.literal('default')]), ApproverList)).default({}),
  })
  .strict();
export type ApproverPolicy = z.output<typeof ApproverPolicy>;

export const emptyPolicy: ApproverPolicy = { people: {}, approvers: {} };

/** Parses a policy file's text (YAML or JSON); a problem names the field. */
export function parsePolicy(text: string): ApproverPolicy {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new Error(`not YAML or JSON: ${(error as Error).message}`);
  }
  const parsed = ApproverPolicy.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((i) => `${i.path.join('.') || '(policy)'}: ${i.message}`).join('; '));
  }
  const slackUsers = new Map<string, string>();
  for (const [id, person] of Object.entries(parsed.data.people)) {
    if (!person.slack) continue;
    const other = slackUsers.get(person.slack);
    if (other) throw new Error(`people.${id}.slack: Slack user ${person.slack} is already ${other}`);
    slackUsers.set(person.slack, id);
  }
  return parsed.data;
}

/** The people who may decide a request for this service at this risk; none means nobody may. */
export function approversFor(policy: ApproverPolicy, service: string, risk: Risk): readonly string[] {
  const lists = policy.approvers[service] ?? policy.approvers['*'];
  return lists?.[risk] ?? lists?.default ?? [];
}

/** The person behind a Slack user: the policy's person with that Slack id, else the Slack user itself. */
export function personFromSlack(policy: ApproverPolicy, user: { id: string; name?: string }): Person {
  for (const [id, person] of Object.entries(policy.people)) {
    if (person.slack === user.id) return { id, name: person.name ?? id, slackUserId: user.id };
  }
  return { id: user.id, ...(user.name ? { name: user.name } : {}), slackUserId: user.id };
}

/** The person an API token names, with what the policy knows of them. */
export function personById(policy: ApproverPolicy, id: string): Person {
  const known = policy.people[id];
  return { id, name: known?.name ?? id, ...(known?.slack ? { slackUserId: known.slack } : {}) };
}

const identities = (person: Person): string[] => (person.slackUserId ? [person.id, person.slackUserId] : [person.id]);

export function isApprover(approvers: readonly string[], person: Person): boolean {
  return identities(person).some((id) => approvers.includes(id));
}

/** Whether this person asked for the change (`requestedBy` is a person id or a Slack user id). */
export function isRequester(requestedBy: string, person: Person): boolean {
  return identities(person).includes(requestedBy);
}
