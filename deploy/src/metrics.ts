import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Metric names the services register: every `'vigil_…'` string literal a Counter, Histogram or Gauge is given in apps/ and libs/ sources (tests excluded). */
export function registeredMetrics(root: string): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!['node_modules', 'dist', 'test'].includes(entry.name)) walk(path);
      } else if (entry.name.endsWith('.ts') && !/\.(test|contract|fixtures)\.ts$/.test(entry.name)) {
        const source = readFileSync(path, 'utf8');
        if (!/new (Counter|Histogram|Gauge|Summary)\b/.test(source)) continue;
        for (const match of source.matchAll(/['"](vigil_[a-z0-9_]+)['"]/g)) names.add(match[1] ?? '');
      }
    }
  };
  for (const top of ['apps', 'libs']) {
    for (const pkg of readdirSync(join(root, top), { withFileTypes: true })) if (pkg.isDirectory()) walk(join(root, top, pkg.name, 'src'));
  }
  return names;
}

/** Every PromQL expression in a Grafana dashboard, with its panel's title. */
export function dashboardQueries(dashboard: { panels?: unknown[] }): Array<{ panel: string; expr: string }> {
  const out: Array<{ panel: string; expr: string }> = [];
  const visit = (panels: unknown[] | undefined): void => {
    for (const panel of (panels ?? []) as Array<{ title?: string; targets?: Array<{ expr?: string }>; panels?: unknown[] }>) {
      for (const target of panel.targets ?? []) if (target.expr) out.push({ panel: panel.title ?? '(untitled)', expr: target.expr });
      visit(panel.panels);
    }
  };
  visit(dashboard.panels);
  return out;
}

/** Metrics a dashboard queries that no service registers (histogram series map to their histogram). */
export function unknownDashboardMetrics(dashboard: { panels?: unknown[] }, registered: Set<string>): string[] {
  const problems: string[] = [];
  for (const { panel, expr } of dashboardQueries(dashboard)) {
    const metrics = [...expr.matchAll(/\b(vigil_[a-z0-9_]+)/g)].map((m) => m[1] ?? '');
    if (metrics.length === 0) problems.push(`panel "${panel}": queries no vigil_ metric: ${expr}`);
    for (const metric of metrics) {
      const base = metric.replace(/_(bucket|sum|count)$/, '');
      if (!registered.has(metric) && !registered.has(base))
        problems.push(`panel "${panel}": ${metric} is not a metric any service registers`);
    }
  }
  return problems;
}
