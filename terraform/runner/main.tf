# The Coder template for Vigil's remediation runner: one short-lived workspace per script step.
# The executor creates a workspace from this template with the parameters below (names fixed by
# apps/executor/src/coder/coder-contract.ts, checked by deploy/ in CI), waits for the agent,
# connects over SSH with the one-time key it sent, runs the step and deletes the workspace.
#
# What a run gets: a pod with no privileges and a read-only root, reachable only by the
# executor's SSH, able to reach only the targets the step declared (plus DNS and the Coder control
# plane its agent needs), holding the step's credentials only while it runs, and killed at its
# deadline whatever happens to the executor.

terraform {
  required_version = ">= 1.5"
  required_providers {
    coder = {
      source  = "coder/coder"
      version = ">= 2.5"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = ">= 2.31"
    }
    tls = {
      source  = "hashicorp/tls"
      version = ">= 4.0"
    }
    dns = {
      source  = "hashicorp/dns"
      version = ">= 3.4"
    }
  }
}

# ── Template variables (set by whoever publishes the template) ───────────────────────────────

variable "use_kubeconfig" {
  type        = bool
  default     = false
  description = "true: the provisioner uses ~/.kube/config; false: its in-cluster service account."
}

variable "namespace" {
  type        = string
  default     = "vigil-runs"
  description = "The namespace run pods live in (created beforehand, with a default-deny policy of its own)."
}

variable "image" {
  type        = string
  description = "The runner image: non-root user 1000 named coder, with sshd, sh, bash, python3, psql, coreutils' timeout and curl (for the Coder agent)."
}

variable "executor_namespace" {
  type        = string
  default     = "vigil"
  description = "The namespace of Vigil's executor: the only pods allowed to open SSH to a run."
}

variable "ssh_port" {
  type        = number
  default     = 2222
  description = "The port the run's sshd listens on (unprivileged: sshd runs as the coder user)."
}

variable "coder_egress_cidrs" {
  type        = list(string)
  description = "Where the workspace agent reaches the Coder control plane (the access URL and DERP relays), as CIDRs."
}

variable "coder_egress_port" {
  type        = number
  default     = 443
  description = "The port of the Coder access URL."
}

variable "max_run_seconds" {
  type        = number
  default     = 1800
  description = "Hard deadline of a run's pod from its start: Kubernetes kills it then, whatever the executor does."
}

provider "kubernetes" {
  config_path = var.use_kubeconfig ? "~/.kube/config" : null
}

# ── What Coder knows about this build ────────────────────────────────────────────────────────

data "coder_provisioner" "me" {}

data "coder_workspace" "me" {}

data "coder_workspace_owner" "me" {}

# ── The executor's parameters: exactly coderParameterNames, all strings, fixed for the run ──

data "coder_parameter" "vigil_incident_id" {
  name         = "vigil_incident_id"
  display_name = "Incident"
  description  = "The incident the run belongs to (labels, audit)."
  type         = "string"
  mutable      = false
  validation {
    regex = "^[A-Za-z0-9._:-]{1,128}$"
    error = "an incident id: letters, digits, . _ : -"
  }
}

data "coder_parameter" "vigil_execution_id" {
  name         = "vigil_execution_id"
  display_name = "Execution"
  description  = "The execution id: one per incident and plan step."
  type         = "string"
  mutable      = false
  validation {
    regex = "^[A-Za-z0-9._:-]{1,128}$"
    error = "an execution id: letters, digits, . _ : -"
  }
}

data "coder_parameter" "vigil_service" {
  name         = "vigil_service"
  display_name = "Service"
  description  = "The catalog service the step targets."
  type         = "string"
  mutable      = false
}

data "coder_parameter" "vigil_egress" {
  name         = "vigil_egress"
  display_name = "Egress"
  description  = "JSON array of the host:port pairs the step declared; [] means no network for the step."
  type         = "string"
  mutable      = false
  validation {
    regex = "^\\[.*\\]$"
    error = "a JSON array of \"host:port\" strings"
  }
}

data "coder_parameter" "vigil_credentials" {
  name         = "vigil_credentials"
  display_name = "Credentials"
  description  = "JSON object of the step's short-lived credentials and parameters (name to value)."
  type         = "string"
  mutable      = false
  validation {
    regex = "^\\{.*\\}$"
    error = "a JSON object of strings"
  }
}

data "coder_parameter" "vigil_ssh_public_key" {
  name         = "vigil_ssh_public_key"
  display_name = "One-time SSH key"
  description  = "The run's one-time public key (one authorized_keys line): the only key sshd accepts."
  type         = "string"
  mutable      = false
  validation {
    regex = "^ssh-ed25519 [A-Za-z0-9+/=]+( [^\\n]*)?$"
    error = "one ssh-ed25519 public key line"
  }
}

data "coder_parameter" "vigil_ssh_allowed_from" {
  name         = "vigil_ssh_allowed_from"
  display_name = "SSH allowed from"
  description  = "OpenSSH from= patterns naming the executor's addresses; empty: the network policy alone decides."
  type         = "string"
  default      = ""
  mutable      = false
  validation {
    regex = "^[A-Za-z0-9.:*?!,/_-]*$"
    error = "OpenSSH from= patterns (addresses, host names, wildcards, commas)"
  }
}

# ── Derived values ────────────────────────────────────────────────────────────────────────────

locals {
  running = data.coder_workspace.me.start_count
  name    = "vigil-run-${substr(sha256(data.coder_workspace.me.id), 0, 16)}"
  labels = {
    "app.kubernetes.io/name"       = "vigil-runner"
    "app.kubernetes.io/part-of"    = "vigil"
    "app.kubernetes.io/managed-by" = "coder"
    "vigil.dev/run"                = substr(sha256(data.coder_workspace.me.id), 0, 16)
  }
  annotations = {
    "vigil.dev/incident-id"  = data.coder_parameter.vigil_incident_id.value
    "vigil.dev/execution-id" = data.coder_parameter.vigil_execution_id.value
    "vigil.dev/service"      = data.coder_parameter.vigil_service.value
    "vigil.dev/owner"        = data.coder_workspace_owner.me.name
  }

  # "host:port" and "[v6]:port" targets, as the executor validated them.
  targets = [
    for target in jsondecode(data.coder_parameter.vigil_egress.value) : {
      host = replace(replace(regex("^(.*):[0-9]+$", target)[0], "[", ""), "]", "")
      port = tonumber(regex(":([0-9]+)$", target)[0])
    }
  ]
  literal_targets = [for t in local.targets : t if can(cidrhost("${t.host}/32", 0)) || can(cidrhost("${t.host}/128", 0))]
  named_targets   = [for t in local.targets : t if !(can(cidrhost("${t.host}/32", 0)) || can(cidrhost("${t.host}/128", 0)))]
  # Names are resolved when the workspace is built: the policy pins those addresses for the run.
  egress_rules = concat(
    [for t in local.literal_targets : { cidr = strcontains(t.host, ":") ? "${t.host}/128" : "${t.host}/32", port = t.port }],
    flatten([for t in local.named_targets : [for address in data.dns_a_record_set.targets[t.host].addrs : { cidr = "${address}/32", port = t.port }]]),
  )

  # The step's credentials, one file each under /run/vigil/credentials while the run lives.
  credentials = jsondecode(data.coder_parameter.vigil_credentials.value)

  allowed_from    = data.coder_parameter.vigil_ssh_allowed_from.value
  authorized_keys = "${local.allowed_from == "" ? "" : "from=\"${local.allowed_from}\","}restrict ${trimspace(data.coder_parameter.vigil_ssh_public_key.value)}\n"
  sshd_config     = <<-EOT
    Port ${var.ssh_port}
    ListenAddress 0.0.0.0
    HostKey /tmp/ssh/ssh_host_ed25519_key
    PidFile /tmp/ssh/sshd.pid
    AuthorizedKeysFile /run/vigil/ssh/authorized_keys
    AllowUsers coder
    PubkeyAuthentication yes
    PasswordAuthentication no
    KbdInteractiveAuthentication no
    PermitRootLogin no
    UsePAM no
    StrictModes no
    AllowTcpForwarding no
    AllowAgentForwarding no
    AllowStreamLocalForwarding no
    PermitTunnel no
    X11Forwarding no
    PermitUserEnvironment no
    MaxSessions 2
    ClientAliveInterval 15
    LogLevel VERBOSE
  EOT
}

data "dns_a_record_set" "targets" {
  for_each = toset([for t in local.named_targets : t.host])
  host     = each.value
}

# The run's host key, made for this workspace: the executor checks its fingerprint (coder_metadata).
resource "tls_private_key" "host" {
  algorithm = "ED25519"
}

# ── The agent ─────────────────────────────────────────────────────────────────────────────────

resource "coder_agent" "main" {
  os                      = "linux"
  arch                    = data.coder_provisioner.me.arch
  startup_script_behavior = "blocking"
  # Ready only once sshd answers: the executor connects as soon as the agent is ready.
  startup_script = <<-EOT
    set -eu
    mkdir -p /tmp/ssh && chmod 700 /tmp/ssh
    install -m 600 /run/vigil/ssh/ssh_host_ed25519_key /tmp/ssh/ssh_host_ed25519_key
    /usr/sbin/sshd -f /run/vigil/ssh/sshd_config -E /tmp/ssh/sshd.log
    for i in $(seq 1 50); do
      if [ -s /tmp/ssh/sshd.pid ]; then exit 0; fi
      sleep 0.2
    done
    echo "sshd did not start" >&2; cat /tmp/ssh/sshd.log >&2; exit 1
  EOT
  display_apps {
    vscode                 = false
    vscode_insiders        = false
    web_terminal           = false
    ssh_helper             = false
    port_forwarding_helper = false
  }
}

# ── Short-lived credentials and SSH material: exist only while the workspace runs ───────────

resource "kubernetes_secret_v1" "run" {
  count = local.running
  metadata {
    name        = local.name
    namespace   = var.namespace
    labels      = local.labels
    annotations = local.annotations
  }
  data = {
    "ssh_host_ed25519_key" = tls_private_key.host.private_key_openssh
    "authorized_keys"      = local.authorized_keys
    "sshd_config"          = local.sshd_config
  }
}

resource "kubernetes_secret_v1" "credentials" {
  count = local.running
  metadata {
    name        = "${local.name}-credentials"
    namespace   = var.namespace
    labels      = local.labels
    annotations = local.annotations
  }
  data = local.credentials
}

# ── The pod ───────────────────────────────────────────────────────────────────────────────────

resource "kubernetes_pod_v1" "runner" {
  count = local.running
  metadata {
    name        = local.name
    namespace   = var.namespace
    labels      = local.labels
    annotations = local.annotations
  }
  spec {
    restart_policy                   = "Never"
    active_deadline_seconds          = var.max_run_seconds
    automount_service_account_token  = false
    enable_service_links             = false
    termination_grace_period_seconds = 10
    security_context {
      run_as_non_root = true
      run_as_user     = 1000
      run_as_group    = 1000
      fs_group        = 1000
      seccomp_profile {
        type = "RuntimeDefault"
      }
    }
    container {
      name    = "runner"
      image   = var.image
      command = ["sh", "-c", coder_agent.main.init_script]
      env {
        name  = "CODER_AGENT_TOKEN"
        value = coder_agent.main.token
      }
      env {
        name  = "HOME"
        value = "/home/coder"
      }
      port {
        name           = "ssh"
        container_port = var.ssh_port
        protocol       = "TCP"
      }
      security_context {
        run_as_non_root            = true
        allow_privilege_escalation = false
        read_only_root_filesystem  = true
        capabilities {
          drop = ["ALL"]
        }
      }
      resources {
        requests = {
          cpu    = "100m"
          memory = "128Mi"
        }
        limits = {
          cpu    = "1"
          memory = "512Mi"
        }
      }
      volume_mount {
        name       = "ssh"
        mount_path = "/run/vigil/ssh"
        read_only  = true
      }
      volume_mount {
        name       = "credentials"
        mount_path = "/run/vigil/credentials"
        read_only  = true
      }
      volume_mount {
        name       = "tmp"
        mount_path = "/tmp"
      }
      volume_mount {
        name       = "home"
        mount_path = "/home/coder"
      }
    }
    volume {
      name = "ssh"
      secret {
        secret_name  = kubernetes_secret_v1.run[0].metadata[0].name
        default_mode = "0440"
      }
    }
    volume {
      name = "credentials"
      secret {
        secret_name  = kubernetes_secret_v1.credentials[0].metadata[0].name
        default_mode = "0440"
      }
    }
    volume {
      name = "tmp"
      empty_dir {
        medium     = "Memory"
        size_limit = "128Mi"
      }
    }
    volume {
      name = "home"
      empty_dir {
        size_limit = "256Mi"
      }
    }
  }
}

# The executor's way in: a cluster address for the run's sshd.
resource "kubernetes_service_v1" "ssh" {
  count = local.running
  metadata {
    name      = local.name
    namespace = var.namespace
    labels    = local.labels
  }
  spec {
    selector = local.labels
    port {
      name        = "ssh"
      port        = var.ssh_port
      target_port = "ssh"
      protocol    = "TCP"
    }
  }
}

# ── The network: no way in but the executor's SSH; out only to the declared targets ─────────

resource "kubernetes_network_policy_v1" "runner" {
  count = local.running
  metadata {
    name      = local.name
    namespace = var.namespace
    labels    = local.labels
  }
  spec {
    pod_selector {
      match_labels = local.labels
    }
    policy_types = ["Ingress", "Egress"]

    # Every other ingress is denied: only the executor may open the run's SSH port.
    ingress {
      from {
        namespace_selector {
          match_labels = { "kubernetes.io/metadata.name" = var.executor_namespace }
        }
        pod_selector {
          match_labels = { "app.kubernetes.io/name" = "executor" }
        }
      }
      ports {
        port     = tostring(var.ssh_port)
        protocol = "TCP"
      }
    }

    # The step's declared targets, one rule per address and port.
    dynamic "egress" {
      for_each = local.egress_rules
      content {
        to {
          ip_block {
            cidr = egress.value.cidr
          }
        }
        ports {
          port     = tostring(egress.value.port)
          protocol = "TCP"
        }
      }
    }

    # The agent's control plane.
    egress {
      dynamic "to" {
        for_each = var.coder_egress_cidrs
        content {
          ip_block {
            cidr = to.value
          }
        }
      }
      ports {
        port     = tostring(var.coder_egress_port)
        protocol = "TCP"
      }
    }

    # Name resolution (the agent's access URL).
    egress {
      to {
        namespace_selector {
          match_labels = { "kubernetes.io/metadata.name" = "kube-system" }
        }
        pod_selector {
          match_labels = { "k8s-app" = "kube-dns" }
        }
      }
      ports {
        port     = "53"
        protocol = "UDP"
      }
      ports {
        port     = "53"
        protocol = "TCP"
      }
    }
  }
}

# ── Where the executor connects: ssh_host, ssh_port, ssh_host_key_fingerprint (coderMetadataKeys) ─

resource "coder_metadata" "ssh" {
  count       = local.running
  resource_id = kubernetes_pod_v1.runner[0].id
  item {
    key   = "ssh_host"
    value = kubernetes_service_v1.ssh[0].spec[0].cluster_ip
  }
  item {
    key   = "ssh_port"
    value = tostring(var.ssh_port)
  }
  item {
    key   = "ssh_host_key_fingerprint"
    value = tls_private_key.host.public_key_fingerprint_sha256
  }
}
