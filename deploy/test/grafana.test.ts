import { describe, expect, it } from 'vitest';
import { dashboardQueries, registeredMetrics, unknownDashboardMetrics } from '../src/metrics.js';
import { readText, repoRoot } from '../src/repo.js';
import { renderKustomization } from '../src/kustomize.js';
import { join } from 'node:path';

const dashboard = JSON.parse(readText('k8s/base/grafana/vigil.json')) as { panels: unknown[] };
const registered = registeredMetrics(repoRoot);

describe('the Grafana dashboard', () => {
  it('queries only metrics the services register', () => {
    expect(registered).toContain('vigil_events_handled_total');
    expect(unknownDashboardMetrics(dashboard, registered)).toEqual([]);
  });

  it('shows incidents by stage, gate decisions, approvals and consumer lag', () => {
    const titles = dashboardQueries(dashboard).map((q) => q.panel);
    for (const title of ['Incidents by stage', 'Gate decisions', 'Approval decisions', 'Consumer lag']) expect(titles).toContain(title);
  });

  it('names a panel querying a metric nobody registers', () => {
    const broken = structuredClone(dashboard) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
    broken.panels.find((p) => p.targets)!.targets![0]!.expr = 'sum(rate(vigil_incidents_total[5m]))';
    expect(unknownDashboardMetrics(broken, registered)).toEqual([
      'panel "Incidents by stage": vigil_incidents_total is not a metric any service registers',
    ]);
  });

  it('ships as a ConfigMap a Grafana sidecar picks up', () => {
    const objects = renderKustomization(join(repoRoot, 'k8s', 'base'));
    const map = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'vigil-grafana-dashboard') as unknown as {
      metadata: { labels: Record<string, string> };
      data: Record<string, string>;
    };
    expect(map.metadata.labels.grafana_dashboard).toBe('1');
    expect(JSON.parse(map.data['vigil.json']!)).toEqual(dashboard);
  });
});
