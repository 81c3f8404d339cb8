import { coderMetadataKeys, coderParameterNames } from '@vigil/executor';
import { describe, expect, it } from 'vitest';
import { readText } from '../src/repo.js';
import { parseHcl, templateProblems, undeclaredReferences } from '../src/terraform.js';

const source = readText('terraform/runner/main.tf');
const parameters = Object.values(coderParameterNames);
const metadata = Object.values(coderMetadataKeys);

describe('the Coder template (terraform/runner)', () => {
  it("parses, declares exactly the executor's parameters and metadata, and locks the pod and its network down", async () => {
    const hcl = await parseHcl('main.tf', source);
    expect(templateProblems(hcl, parameters, metadata)).toEqual([]);
  });

  it("declares one coder_parameter per name in the executor's coderParameterNames, and no other", async () => {
    const hcl = (await parseHcl('main.tf', source)) as { data: { coder_parameter: Record<string, Array<{ name: string }>> } };
    const names = Object.values(hcl.data.coder_parameter).map((blocks) => blocks[0]!.name);
    expect(names.sort()).toEqual([...parameters].sort());
  });

  it('names a parameter the executor sends that the template lost, and one it invented', async () => {
    const hcl = await parseHcl('main.tf', source.replace('name         = "vigil_egress"', 'name         = "vigil_network"'));
    expect(templateProblems(hcl, parameters, metadata)).toEqual([
      'terraform: no coder_parameter named vigil_egress (the executor sends it)',
      'terraform: coder_parameter vigil_network is not one the executor sends',
    ]);
  });

  it('names a writable root filesystem and a missing SSH endpoint item', async () => {
    const hcl = await parseHcl(
      'main.tf',
      source
        .replace('read_only_root_filesystem  = true', 'read_only_root_filesystem  = false')
        .replace('key   = "ssh_port"', 'key   = "port"'),
    );
    expect(templateProblems(hcl, parameters, metadata)).toEqual([
      'terraform: container runner has a writable root filesystem',
      'terraform: no coder_metadata item ssh_port (the executor reads it)',
    ]);
  });

  it('refers only to variables, locals, data sources and resources it declares', async () => {
    expect(undeclaredReferences(await parseHcl('main.tf', source), source)).toEqual([]);
  });

  it('names a reference to something undeclared', async () => {
    const text = source
      .replace('var.max_run_seconds', 'var.max_run_secs')
      .replace('kubernetes_service_v1.ssh[0]', 'kubernetes_service_v1.sshd[0]');
    expect(undeclaredReferences(await parseHcl('main.tf', text), text)).toEqual([
      'terraform: var.max_run_secs is used but not declared',
      'terraform: kubernetes_service_v1.sshd is used but not declared',
    ]);
  });

  it('rejects text that is not HCL', async () => {
    await expect(parseHcl('broken.tf', 'resource "coder_agent" "main" { os = "linux"\n')).rejects.toThrow(/broken\.tf/);
  });
});
