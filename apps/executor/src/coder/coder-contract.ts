/**
 * The contract between the executor and the Coder template in `terraform/`. The template declares
 * one `data "coder_parameter"` per name below (all `type = "string"`, `mutable = false`) and
 * reports its SSH endpoint as `coder_metadata` items with the keys in `coderMetadataKeys`.
 * Renaming any of these is a breaking change on both sides.
 */
export const coderParameterNames = {
  /** The incident the run belongs to (labels, audit). */
  incidentId: 'vigil_incident_id',
  /** The execution id (one per incident and plan step). */
  executionId: 'vigil_execution_id',
  /** The catalog service the step targets. */
  service: 'vigil_service',
  /** JSON array of the `host:port` pairs the step declared; `[]`: no network at all. */
  egress: 'vigil_egress',
  /** JSON object of the step's short-lived credentials and parameters (name → value). */
  credentials: 'vigil_credentials',
  /** The one-time public key (one OpenSSH `authorized_keys` line); the only key sshd may accept. */
  sshPublicKey: 'vigil_ssh_public_key',
  /** OpenSSH `from=` pattern list naming the executor's addresses; empty: the template's own rule. */
  sshAllowedFrom: 'vigil_ssh_allowed_from',
} as const;

export type CoderParameterName = (typeof coderParameterNames)[keyof typeof coderParameterNames];

/** `coder_metadata` keys (on any resource of the build) that tell the executor where sshd listens. */
export const coderMetadataKeys = {
  sshHost: 'ssh_host',
  sshPort: 'ssh_port',
  /** `SHA256:<base64>` as `ssh-keygen -lf` prints it; required unless host-key checking is turned off. */
  sshHostKeyFingerprint: 'ssh_host_key_fingerprint',
} as const;
