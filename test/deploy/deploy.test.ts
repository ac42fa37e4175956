import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { Metrics } from '../../src/observability/metrics.js';

const promtool = (args: string[]) => {
  const r = spawnSync('promtool', args, { cwd: 'deploy/prometheus', encoding: 'utf8' });
  if (r.error) throw new Error(`promtool is needed for this test (Debian package prometheus): ${r.error.message}`);
  return r;
};

/** Family → label names, from the real registry. */
async function knownFamilies(): Promise<Map<string, Set<string>>> {
  const metrics = new Metrics();
  const out = new Map<string, Set<string>>();
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    const labels = new Set<string>(['instance', 'job', 'le']);
    for (const v of m.values) for (const k of Object.keys(v.labels ?? {})) labels.add(k);
    const declared = (metrics.registry.getSingleMetric(m.name) as unknown as { labelNames?: string[] })?.labelNames ?? [];
    for (const k of declared) labels.add(k);
    out.set(m.name, labels);
  }
  return out;
}

/** Every callfs_* series and label an expression uses must exist. */
async function checkExpressions(exprs: string[], where: string): Promise<void> {
  const families = await knownFamilies();
  for (const expr of exprs) {
    for (const m of expr.matchAll(/\b(callfs_[a-z_]+?)(_bucket|_sum|_count)?\b(\{([^}]*)\})?/g)) {
      const family = m[1]!;
      assert.ok(families.has(family), `${where}: unknown metric ${family} in ${expr}`);
      for (const [, label] of (m[4] ?? '').matchAll(/(\w+)\s*[!=~]+/g)) {
        assert.ok(families.get(family)!.has(label!), `${where}: ${family} has no label ${label}`);
      }
    }
  }
}

test('alert and recording rules pass promtool, and a HighErrorRate case fires', () => {
  const check = promtool(['check', 'rules', 'callfs-alerts.yml', 'callfs-recording.yml']);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  const unit = promtool(['test', 'rules', 'callfs-alerts.test.yml']);
  assert.equal(unit.status, 0, unit.stdout + unit.stderr);
});

test('rules and dashboard use only metrics and labels CallFS emits', async () => {
  const exprs: string[] = [];
  for (const file of ['callfs-alerts.yml', 'callfs-recording.yml']) {
    const doc = YAML.parse(readFileSync(path.join('deploy/prometheus', file), 'utf8')) as { groups: Array<{ rules: Array<{ expr: string }> }> };
    for (const g of doc.groups) for (const r of g.rules) exprs.push(r.expr);
  }
  await checkExpressions(exprs, 'rules');
  const dashboard = JSON.parse(readFileSync('deploy/grafana/callfs-dashboard.json', 'utf8')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
  const titles = dashboard.panels.map((p) => p.title);
  for (const t of ['Request Rate', 'Request Duration', 'Backend Operations', 'Error Rate', 'Backend Operation Duration (p95)', 'Database Query Rate', 'Cache Hit Rate']) {
    assert.ok(titles.includes(t), `dashboard lacks the reference panel ${t}`);
  }
  await checkExpressions(dashboard.panels.flatMap((p) => p.targets.map((x) => x.expr)), 'dashboard');
});

test('Kubernetes manifests parse and probe /health', () => {
  const docs = readdirSync('deploy/kubernetes').map((f) => YAML.parse(readFileSync(path.join('deploy/kubernetes', f), 'utf8')) as Record<string, unknown>);
  const kinds = docs.map((d) => d.kind).sort();
  assert.deepEqual(kinds, ['ConfigMap', 'Deployment', 'Secret', 'Service']);
  const deployment = docs.find((d) => d.kind === 'Deployment') as { spec: { template: { spec: { containers: Array<Record<string, { httpGet: { path: string } }>> } } } };
  const container = deployment.spec.template.spec.containers[0]!;
  assert.equal(container.livenessProbe!.httpGet.path, '/health');
  assert.equal(container.readinessProbe!.httpGet.path, '/health');
});

test('the systemd unit is hardened and the image runs as non-root', () => {
  const unit = readFileSync('deploy/systemd/callfs.service', 'utf8');
  for (const directive of ['User=callfs', 'ProtectSystem=strict', 'ReadWritePaths=/var/lib/callfs', 'NoNewPrivileges=true', 'ProtectHome=true']) {
    assert.ok(unit.includes(directive), directive);
  }
  const dockerfile = readFileSync('deploy/Dockerfile', 'utf8');
  assert.equal((dockerfile.match(/^FROM /gm) ?? []).length, 2, 'multi-stage');
  assert.match(dockerfile, /^USER callfs$/m);
});
