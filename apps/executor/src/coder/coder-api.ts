import { z } from 'zod';

/**
 * The parts of the Coder v2 REST types (`codersdk.Workspace`, `WorkspaceBuild`, `ProvisionerJob`,
 * `WorkspaceResource`, `WorkspaceAgent`) the executor reads. Unknown fields are ignored, so a newer
 * Coder keeps working; a missing field we rely on fails with the path that is wrong.
 */
const nullableString = z.string().nullish();

export const provisionerJob = z.object({
  id: z.string(),
  status: z.string(),
  error: nullableString,
  error_code: nullableString,
});

export const workspaceAgent = z.object({
  id: z.string(),
  name: z.string().optional(),
  status: z.string().optional(),
  lifecycle_state: z.string().optional(),
});

export const workspaceResource = z.object({
  id: z.string().optional(),
  name: z.string().optional(),
  type: z.string().optional(),
  agents: z.array(workspaceAgent).nullish(),
  metadata: z.array(z.object({ key: z.string(), value: z.string(), sensitive: z.boolean().optional() })).nullish(),
});

export const workspaceBuild = z.object({
  id: z.string(),
  workspace_id: z.string(),
  workspace_name: z.string().optional(),
  build_number: z.number().optional(),
  transition: z.string(),
  status: z.string(),
  job: provisionerJob,
  resources: z.array(workspaceResource).nullish(),
});

export const workspace = z.object({
  id: z.string(),
  name: z.string(),
  owner_name: z.string().optional(),
  created_at: z.string().optional(),
  latest_build: workspaceBuild,
});

export const workspacesResponse = z.object({ workspaces: z.array(workspace).nullish(), count: z.number() });

export const buildInfo = z.object({ version: z.string(), external_url: z.string().optional() });

export const user = z.object({ id: z.string(), username: z.string() });

/** `codersdk.Response`, the body of every error answer. */
export const coderResponse = z.object({
  message: z.string().optional(),
  detail: z.string().optional(),
  validations: z.array(z.object({ field: z.string(), detail: z.string() })).nullish(),
});

export type ProvisionerJob = z.infer<typeof provisionerJob>;
export type WorkspaceAgent = z.infer<typeof workspaceAgent>;
export type WorkspaceResource = z.infer<typeof workspaceResource>;
export type WorkspaceBuild = z.infer<typeof workspaceBuild>;
export type Workspace = z.infer<typeof workspace>;
export type WorkspacesResponse = z.infer<typeof workspacesResponse>;
export type BuildInfo = z.infer<typeof buildInfo>;
export type CoderUser = z.infer<typeof user>;

export interface RichParameterValue {
  name: string;
  value: string;
}

/** `codersdk.CreateWorkspaceRequest`: exactly one of template_id / template_version_id. */
export interface CreateWorkspaceRequest {
  name: string;
  template_id?: string;
  template_version_id?: string;
  rich_parameter_values: RichParameterValue[];
  /** 0: no auto-stop; the executor deletes the workspace itself. */
  ttl_ms?: number;
  automatic_updates?: 'always' | 'never';
}

/** `codersdk.CreateWorkspaceBuildRequest`. */
export interface CreateWorkspaceBuildRequest {
  transition: 'start' | 'stop' | 'delete';
  orphan?: boolean;
}

/** Job states that may still change; a new build is refused (409) while one is. */
export const isJobActive = (status: string): boolean => status === 'pending' || status === 'running' || status === 'canceling';
