/* eslint-disable @typescript-eslint/no-explicit-any -- the checks walk rendered YAML, which has no static type; validateObject checks it against the Kubernetes schemas. */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { selectors } from './dashboards.js';
import { ruleExpressions } from './prometheus.js';
import { CHART, REGIONS, exec, renderRegion, type K8sObject, type Region } from './tools.js';
import { selectorProblems, validateObject } from './validate.js';

/**
 * The Helm chart, rendered for every region: lint, Kubernetes API schemas,
 * and what operators rely on (HPAs as the design's scaling table has them,
 * docs/design/README.md#scaling; probes, resources, non-root containers,
 * disruption budgets, network policies, no secrets).
 */
const rendered = new Map<Region, { text: string; objects: K8sObject[] }>();
beforeAll(async () => {
  for (const region of REGIONS) rendered.set(region, await renderRegion(region));
});

const objects = (region: Region, kind?: string) =>
  rendered.get(region)!.objects.filter((o) => kind === undefined || o.kind === kind);
const named = (region: Region, kind: string, name: string) => {
  const found = objects(region, kind).find((o) => o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in ${region}`);
  return found;
};

/** Every pod template a region renders: Deployments', Jobs' and CronJobs'. */
function podSpecs(region: Region): Array<[string, any]> {
  return objects(region).flatMap((o): Array<[string, any]> => {
    if (o.kind === 'Deployment' || o.kind === 'Job')
      return [[o.metadata.name, o.spec.template.spec]];
    if (o.kind === 'CronJob') return [[o.metadata.name, o.spec.jobTemplate.spec.template.spec]];
    return [];
  });
}

/**
 * The design's service scaling table (min, max pods) and what each scales on.
 * `consumer`: its pods share one consumer group, so the HPA stops at the
 * topic's partitions (PARTITIONS): chat's 100 and ai's 30 become 24.
 */
const PARTITIONS = 24;
const SEED_TABLE = {
  gateway: { min: 5, max: 50, consumer: false, metrics: ['cpu', 'gateway_requests_per_second'] },
  chat: { min: 10, max: 100, consumer: true, metrics: ['active_sessions', 'cpu', 'memory'] },
  voice: { min: 10, max: 50, consumer: false, metrics: ['concurrent_calls'] },
  ai: {
    min: 5,
    max: 30,
    consumer: true,
    metrics: ['ai_queue_depth', 'ai_reply_latency_p95_seconds'],
  },
  hitl: { min: 3, max: 20, consumer: true, metrics: ['hitl_queue_size'] },
  embedding: { min: 3, max: 15, consumer: true, metrics: ['embedding_queue_depth'] },
} as const;

const metricName = (m: any): string =>
  m.resource?.name ?? m.pods?.metric.name ?? m.external?.metric.name;

describe.each(REGIONS)('the chart for %s', (region) => {
  it('passes helm lint --strict', async () => {
    const out = await exec('PARLEY_HELM', [
      'lint',
      CHART,
      '--strict',
      '-f',
      `${CHART}/values-${region}.yaml`,
    ]);
    expect(out).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('renders only objects valid against the Kubernetes API schemas, with no unknown field', async () => {
    expect(objects(region).length).toBeGreaterThan(40);
    for (const object of objects(region)) await validateObject(object);
  });

  it('selects rendered pods with every PodDisruptionBudget, Service and HPA', () => {
    expect(selectorProblems(objects(region))).toEqual([]);
  });

  it('scales every service with an autoscaling/v2 HPA exactly as the design’s scaling table says', () => {
    for (const [service, want] of Object.entries(SEED_TABLE)) {
      const hpa = named(region, 'HorizontalPodAutoscaler', `parley-${service}`);
      expect(hpa.apiVersion).toBe('autoscaling/v2');
      expect(hpa.spec.scaleTargetRef).toEqual({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: `parley-${service}`,
      });
      expect([hpa.spec.minReplicas, hpa.spec.maxReplicas], service).toEqual([
        want.min,
        want.consumer ? Math.min(want.max, PARTITIONS) : want.max,
      ]);
      expect(hpa.spec.metrics.map(metricName), service).toEqual(want.metrics);
    }
    // The design's chat HPA, word for word: 100 active sessions per pod, CPU 70 %, memory 80 %;
    // up after 30 s by at most 50 % a minute, down after 300 s by at most 10 % a minute.
    const chat = named(region, 'HorizontalPodAutoscaler', 'parley-chat');
    expect(chat.spec.metrics).toEqual([
      {
        type: 'Pods',
        pods: {
          metric: { name: 'active_sessions' },
          target: { type: 'AverageValue', averageValue: '100' },
        },
      },
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
      },
      {
        type: 'Resource',
        resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: 80 } },
      },
    ]);
    expect(chat.spec.behavior).toEqual({
      scaleUp: {
        stabilizationWindowSeconds: 30,
        policies: [{ type: 'Percent', value: 50, periodSeconds: 60 }],
      },
      scaleDown: {
        stabilizationWindowSeconds: 300,
        policies: [{ type: 'Percent', value: 10, periodSeconds: 60 }],
      },
    });
    const gateway = named(region, 'HorizontalPodAutoscaler', 'parley-gateway');
    expect(gateway.spec.metrics[0].resource.target).toEqual({
      type: 'Utilization',
      averageUtilization: 70,
    });
    // Fast (30 s), medium (60 s), slow (120 s): the periods of the scale-up policies.
    const period = (s: string) =>
      named(region, 'HorizontalPodAutoscaler', `parley-${s}`).spec.behavior.scaleUp.policies[0]
        .periodSeconds;
    expect(['gateway', 'voice', 'chat', 'hitl', 'ai', 'embedding'].map(period)).toEqual([
      30, 30, 60, 60, 120, 120,
    ]);
  });

  it('gives the prometheus-adapter a rule for every custom and external metric the HPAs use', () => {
    const adapter = parse(
      named(region, 'ConfigMap', 'parley-prometheus-adapter').data!['config.yaml']!,
    ) as {
      rules: Array<{ name: { as: string } }>;
      externalRules: Array<{ name: { as: string } }>;
    };
    const pods = new Set(adapter.rules.map((r) => r.name.as));
    const external = new Set(adapter.externalRules.map((r) => r.name.as));
    for (const hpa of objects(region, 'HorizontalPodAutoscaler'))
      for (const metric of hpa.spec.metrics) {
        if (metric.type === 'Pods')
          expect(pods, metric.pods.metric.name).toContain(metric.pods.metric.name);
        if (metric.type === 'External') expect(external).toContain(metric.external.metric.name);
      }
  });

  it('gives every container resources, a non-root read-only security context, and no service account token', () => {
    const specs = podSpecs(region);
    expect(specs.length).toBeGreaterThanOrEqual(6);
    for (const [name, pod] of specs) {
      expect(pod.securityContext?.runAsNonRoot, name).toBe(true);
      expect(pod.automountServiceAccountToken, name).toBe(false);
      for (const c of pod.containers) {
        expect(
          c.resources?.requests?.cpu && c.resources?.limits?.memory,
          `${name}/${c.name}`,
        ).toBeTruthy();
        expect(c.securityContext, `${name}/${c.name}`).toMatchObject({
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
        expect(c.securityContext.runAsUser, `${name}/${c.name}`).toBeGreaterThan(0);
      }
    }
  });

  it('probes every service on /healthz and /readyz, and drains it before the kill', () => {
    const resilience = named(region, 'ConfigMap', 'parley-resilience');
    expect(resilience.data).toMatchObject({
      AI_FIRST_TOKEN_TIMEOUT_MS: '4000',
      HITL_SLA_MS: '300000',
    });
    for (const deployment of objects(region, 'Deployment')) {
      const pod = deployment.spec.template.spec;
      const [c] = pod.containers;
      const name = deployment.metadata.name;
      expect(c.startupProbe.httpGet.path, name).toBe('/healthz');
      expect(c.livenessProbe.httpGet.path, name).toBe('/healthz');
      expect(c.readinessProbe.httpGet.path, name).toBe('/readyz');
      const drainMs = Number(c.env.find((e: any) => e.name === 'SHUTDOWN_DEADLINE_MS').value);
      const preStop = c.lifecycle.preStop.sleep.seconds;
      expect(preStop, name).toBeGreaterThan(0);
      // The kubelet waits for preStop plus the service's own drain before it kills.
      expect(pod.terminationGracePeriodSeconds, name).toBeGreaterThan(preStop + drainMs / 1000);
      expect(deployment.spec.strategy.rollingUpdate.maxUnavailable, name).toBe(0);
      expect(pod.topologySpreadConstraints[0].topologyKey, name).toBe(
        'topology.kubernetes.io/zone',
      );
    }
  });

  it('covers every Deployment with a PodDisruptionBudget and a ServiceMonitor', () => {
    const selects = (o: K8sObject, d: K8sObject) =>
      Object.entries(o.spec.selector.matchLabels).every(
        ([k, v]) => d.spec.template.metadata.labels[k] === v,
      );
    for (const deployment of objects(region, 'Deployment')) {
      const name = deployment.metadata.name;
      expect(
        objects(region, 'PodDisruptionBudget').filter((p) => selects(p, deployment)),
        name,
      ).toHaveLength(1);
      const service = objects(region, 'Service').find((s) =>
        Object.entries(s.spec.selector).every(
          ([k, v]) => deployment.spec.template.metadata.labels[k] === v,
        ),
      );
      expect(service, name).toBeDefined();
      expect(
        objects(region, 'ServiceMonitor').some((m) =>
          Object.entries(m.spec.selector.matchLabels).every(
            ([k, v]) => service!.metadata.labels![k] === v,
          ),
        ),
        name,
      ).toBe(true);
    }
  });

  it("keeps the services' own labels on scrape, which the alerts and adapter rules select on", () => {
    // Without honorLabels Prometheus keeps the target's service="parley-ai" and
    // renames the service's own service="ai" to exported_service.
    for (const monitor of objects(region, 'ServiceMonitor'))
      for (const endpoint of monitor.spec.endpoints)
        expect(endpoint.honorLabels, monitor.metadata.name).toBe(true);
    const components = new Set(
      objects(region, 'Deployment').map(
        (d) => d.spec.template.metadata.labels['app.kubernetes.io/component'],
      ),
    );
    const onService = ruleExpressions(objects(region), 'parley').flatMap(({ where, expr }) =>
      selectors(expr).flatMap((s) =>
        s.matchers.filter((m) => m.label === 'service').map((m) => ({ where, ...m })),
      ),
    );
    expect(onService.length).toBeGreaterThanOrEqual(4);
    for (const { where, op, value } of onService) {
      expect(op, where).toBe('=');
      expect(components, where).toContain(value);
    }
  });

  it('denies all traffic by default and lets each service reach only its own dependencies', () => {
    const policies = objects(region, 'NetworkPolicy');
    const deny = policies.find((p) => p.metadata.name === 'parley-default-deny')!;
    expect(deny.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(deny.spec.ingress ?? []).toEqual([]);
    expect(deny.spec.egress ?? []).toEqual([]);
    const ports = (name: string) =>
      policies
        .find((p) => p.metadata.name === name)!
        .spec.egress.flatMap((rule: any) => rule.ports.map((p: any) => p.port))
        .sort();
    expect(ports('parley-chat')).toEqual([5432, 6379, 9092]);
    // Models on the internet, knowledge search on the embedding service; no database.
    expect(ports('parley-ai')).toEqual([443, 6379, 8084, 9092]);
    const embeddingFrom = policies
      .find((p) => p.metadata.name === 'parley-embedding')!
      .spec.ingress.flatMap((rule: any) => rule.from);
    expect(embeddingFrom).toContainEqual({
      podSelector: {
        matchLabels: {
          'app.kubernetes.io/name': 'parley',
          'app.kubernetes.io/instance': 'parley',
          'app.kubernetes.io/component': 'ai',
        },
      },
    });
    expect(ports('parley-gateway')).toEqual([5432, 6379, 9092]); // no internet
    const internet = policies
      .find((p) => p.metadata.name === 'parley-ai')!
      .spec.egress.find((rule: any) => rule.ports[0].port === 443);
    expect(internet.to[0].ipBlock.except).toContain('10.0.0.0/8');
    // Only public services take traffic from the ingress controller.
    const from = (name: string) =>
      policies.find((p) => p.metadata.name === name)!.spec.ingress[0].from.length;
    expect([from('parley-gateway'), from('parley-chat')]).toEqual([2, 1]);
  });

  it('references every secret by name and renders no secret value', () => {
    const { text } = rendered.get(region)!;
    expect(objects(region, 'Secret')).toHaveLength(0);
    expect(text).not.toMatch(/postgres(ql)?:\/\/[^\s"'@/]+:[^\s"'@/]+@/);
    expect(text).not.toMatch(/redis:\/\/[^\s"']*:[^\s"'@]+@/);
    expect(text).not.toMatch(/\bsk-[A-Za-z0-9]{8,}/);
    for (const [name, pod] of podSpecs(region))
      for (const c of pod.containers)
        for (const e of c.env ?? [])
          // PARLEY_BACKUP_URL is s3://bucket/prefix, where the schema allows no credential.
          if (
            /SECRET|TOKEN|PASSWORD|API_KEY|_URLS?$/.test(e.name) &&
            e.name !== 'PARLEY_BACKUP_URL'
          )
            expect(e.valueFrom?.secretKeyRef?.name, `${name}/${e.name}`).toBe('parley-secrets');
  });

  it('alerts on the outage playbook signals', () => {
    const rules = named(region, 'PrometheusRule', 'parley').spec.groups.flatMap(
      (g: any) => g.rules,
    );
    expect(rules.map((r: any) => r.alert)).toEqual([
      'ParleyHealthFailing',
      'ParleyHighErrorRate',
      'ParleyConsumerLag',
      'ParleyIntegrityCritical',
      'ParleyIntegrityWarning',
      'ParleyIntegrityStale',
      'ParleyReplicaLag',
      'ParleyCircuitBreakerOpen',
      'ParleyDegraded',
      'ParleyHumanOnly',
    ]);
    expect(rules.find((r: any) => r.alert === 'ParleyHealthFailing').for).toBe('2m');
    expect(rules.find((r: any) => r.alert === 'ParleyIntegrityCritical').expr).toContain(
      'parley_integrity_findings{job="parley_integrity", release="parley", severity="critical"}',
    );
  });

  it('runs the integrity checks from the chat image as a non-root, read-only job that fails on critical findings', async () => {
    const job = named('us-east', 'CronJob', 'parley-integrity-check');
    const pod = job.spec.jobTemplate.spec.template.spec;
    const [container] = pod.containers;
    expect(container.image).toMatch(/\/parley-chat:/);
    expect(container.args).toEqual([
      'node_modules/@parley/dr/dist/cli.js',
      'check',
      '--fail-on',
      'critical',
    ]);
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    const pushing = await renderRegion('us-east', [
      '--set',
      'integrityCheck.pushgateway=http://pushgateway.monitoring:9091',
    ]);
    const args = pushing.objects.find(
      (o) => o.kind === 'CronJob' && o.metadata.name === 'parley-integrity-check',
    )!.spec.jobTemplate.spec.template.spec.containers[0].args;
    expect(args.slice(-4)).toEqual([
      '--pushgateway',
      'http://pushgateway.monitoring:9091',
      '--release',
      'parley',
    ]);
  });

  it("runs one failover watcher when enabled, promoting by itself only with the operator's approval", async () => {
    expect(objects('us-east', 'Deployment').map((d) => d.metadata.name)).not.toContain(
      'parley-failover-watch',
    );
    const watch = async (approve: boolean) =>
      (
        await renderRegion('us-east', [
          '--set',
          'postgresFailover.enabled=true',
          '--set',
          `postgresFailover.approveAutomatic=${approve}`,
        ])
      ).objects.find(
        (o) => o.kind === 'Deployment' && o.metadata.name === 'parley-failover-watch',
      )!;
    const reporting = await watch(false);
    expect(reporting.spec.replicas).toBe(1);
    expect(reporting.spec.strategy).toEqual({ type: 'Recreate' });
    const [container] = reporting.spec.template.spec.containers;
    expect(container.args).toEqual([
      'node_modules/@parley/dr/dist/cli.js',
      'failover',
      'watch',
      '--after-ms',
      '30000',
    ]);
    expect(container.env[0].valueFrom.secretKeyRef.key).toBe('PARLEY_PG_FAILOVER_URLS');
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true });
    expect((await watch(true)).spec.template.spec.containers[0].args.at(-1)).toBe('--approve');
    // It reaches Postgres through the maintenance policy.
    expect(reporting.spec.template.metadata.labels['app.kubernetes.io/component']).toBe(
      'maintenance',
    );
  });
});

describe('what differs between the regions', () => {
  it('runs migrations and topic creation as a pre-install/pre-upgrade hook in the primary region only', () => {
    const setup = named('us-east', 'Job', 'parley-setup');
    expect(setup.metadata.annotations!['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    const env = Object.fromEntries(
      setup.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]),
    );
    // The design's topic settings: 24 partitions, replication factor 3, min ISR 2.
    expect(env).toMatchObject({
      PARLEY_KAFKA_TOPIC_PARTITIONS: '24',
      PARLEY_KAFKA_REPLICATION_FACTOR: '3',
      PARLEY_KAFKA_MIN_INSYNC_REPLICAS: '2',
    });
    expect(objects('eu-west', 'Job')).toHaveLength(0);
    expect(objects('us-west-dr', 'Job')).toHaveLength(0);
    expect(objects('us-east', 'CronJob').map((c) => c.metadata.name)).toEqual([
      'parley-backup-full',
      'parley-backup-redis',
      'parley-integrity-check',
    ]);
    expect(objects('us-east', 'StatefulSet').map((c) => c.metadata.name)).toEqual([
      'parley-backup-wal-stream',
    ]);
    expect(objects('eu-west', 'StatefulSet')).toHaveLength(0);
    expect(objects('eu-west', 'CronJob')).toHaveLength(0);
  });

  it('keeps the cold standby at zero pods, without ingress, until failover', () => {
    for (const d of objects('us-west-dr', 'Deployment'))
      expect(d.spec.replicas, d.metadata.name).toBe(0);
    for (const d of objects('us-east', 'Deployment'))
      expect(d.spec.replicas, d.metadata.name).toBeUndefined();
    expect(objects('us-west-dr', 'Ingress')).toHaveLength(0);
    expect(objects('us-east', 'Ingress')).toHaveLength(1);
  });

  it("publishes only the public paths: no metrics, readiness or operators' API through the ingress", () => {
    const ingress = objects('us-east', 'Ingress')[0]!;
    /** Whether the ingress routes `path` to some service (Exact, or Prefix by path segment). */
    const routed = (host: string, path: string) =>
      ingress.spec.rules
        .filter((rule: any) => rule.host === host)
        .flatMap((rule: any) => rule.http.paths)
        .some((p: any) =>
          p.pathType === 'Exact'
            ? p.path === path
            : path === p.path.replace(/\/$/, '') ||
              path.startsWith(p.path.endsWith('/') ? p.path : `${p.path}/`),
        );
    const hostOf = (service: string) =>
      ingress.spec.rules.find((rule: any) =>
        rule.http.paths.some((p: any) => p.backend.service.name === service),
      ).host as string;
    const chatHost = hostOf('parley-gateway');
    const agentsHost = hostOf('parley-hitl');
    const voiceHost = hostOf('parley-voice');
    for (const host of [chatHost, agentsHost, voiceHost])
      for (const inside of [
        '/metrics',
        '/readyz',
        '/readyz/history',
        '/healthz',
        '/admin/incidents',
        '/admin/tenants/acme/agents',
      ])
        expect(routed(host, inside), `${host}${inside}`).toBe(false);
    for (const path of [
      '/',
      '/widget.js',
      '/v1/widget/sessions',
      '/v1/widget/ws',
      '/status',
      '/status.json',
    ])
      expect(routed(chatHost, path), path).toBe(true);
    for (const path of [
      '/console/',
      '/console/console.js',
      '/v1/agent/sessions',
      '/v1/agent/events',
    ])
      expect(routed(agentsHost, path), path).toBe(true);
  });

  it('labels everything with its region and lets eu-west reach the primary across regions', () => {
    for (const region of REGIONS)
      for (const o of objects(region))
        expect(o.metadata.labels?.['parley.dev/region'], o.metadata.name).toBe(region);
    const postgres = (region: Region) =>
      named(region, 'NetworkPolicy', 'parley-chat').spec.egress.find(
        (r: any) => r.ports[0].port === 5432,
      ).to;
    expect(postgres('eu-west')).toContainEqual({ ipBlock: { cidr: '10.10.0.0/16' } });
    expect(postgres('us-east')).toHaveLength(1);
  });

  it('answers the global hosts in every serving region, under the same certificate as its own', () => {
    for (const region of ['us-east', 'eu-west'] as const) {
      const ingress = named(region, 'Ingress', 'parley');
      const hosts = ingress.spec.rules.map((r: any) => r.host);
      const regional = region;
      expect(hosts).toEqual([
        `chat.${regional}.parley.example`,
        'chat.parley.example',
        `agents.${regional}.parley.example`,
        'agents.parley.example',
        `voice.${regional}.parley.example`,
        'voice.parley.example',
      ]);
      expect(ingress.spec.tls[0].hosts.sort()).toEqual([...hosts].sort());
      // The global host routes exactly what the regional one does.
      const paths = (host: string) =>
        ingress.spec.rules.find((r: any) => r.host === host).http.paths;
      expect(paths('chat.parley.example')).toEqual(paths(`chat.${regional}.parley.example`));
      expect(paths('agents.parley.example')).toEqual(paths(`agents.${regional}.parley.example`));
    }
  });

  it('labels everything part of parley, which the failover runbook’s scale step selects', () => {
    const runbook = readFileSync(
      new URL('../../docs/runbooks/regional-failover.md', import.meta.url),
      'utf8',
    );
    const selector = /scale deploy -l ([\w./-]+)=(\w+)/.exec(runbook);
    expect(selector, 'the runbook scales by a label').not.toBeNull();
    const [, key, value] = selector!;
    for (const region of REGIONS) {
      for (const o of objects(region))
        expect(o.metadata.labels?.[key!], `${o.kind} ${o.metadata.name}`).toBe(value);
      const deployments = objects(region, 'Deployment');
      expect(deployments.length).toBeGreaterThanOrEqual(6);
      for (const d of deployments) expect(d.spec.template.metadata.labels[key!]).toBe(value);
    }
  });
});

describe('the voice service and its offline recognizer', () => {
  const VOICE_SECRETS = [
    'TWILIO_AUTH_TOKEN',
    'OPENAI_API_KEY',
    'DEEPGRAM_API_KEY',
    'VOICE_LOCAL_STT_KEY',
  ];
  const LOCAL_STT_SELECTOR = {
    'app.kubernetes.io/name': 'parley',
    'app.kubernetes.io/instance': 'parley',
    'app.kubernetes.io/component': 'local-stt',
  };
  const container = (objects: K8sObject[], name: string) =>
    objects.find((o) => o.kind === 'Deployment' && o.metadata.name === name)!.spec.template.spec
      .containers[0];
  const config = (objects: K8sObject[]) =>
    objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'parley-config')!.data!;
  const policy = (objects: K8sObject[], name: string) =>
    objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === name)!;
  /** The objects of the offline recognizer: its name, or its pods' component. */
  const localStt = (objects: K8sObject[]) =>
    objects.filter(
      (o) =>
        o.metadata.name === 'parley-local-stt' ||
        o.metadata.labels?.['app.kubernetes.io/component'] === 'local-stt',
    );

  it.each(REGIONS)(
    'gives the voice pods their provider and Twilio keys as optional Secret references (%s)',
    (region) => {
      const env = container(objects(region), 'parley-voice').env;
      for (const key of VOICE_SECRETS)
        expect(
          env.find((e: any) => e.name === key),
          key,
        ).toEqual({
          name: key,
          valueFrom: { secretKeyRef: { name: 'parley-secrets', key, optional: true } },
        });
      // The settings that are not secret, and the timeouts, from the ConfigMaps.
      expect(config(objects(region))).toMatchObject({ VOICE_NUMBERS: '', VOICE_LANGUAGE: 'en' });
      expect(named(region, 'ConfigMap', 'parley-resilience').data).toMatchObject({
        VOICE_STT_TIMEOUT_MS: '5000',
        VOICE_TTS_TIMEOUT_MS: '5000',
        VOICE_END_SILENCE_MS: '700',
        VOICE_NO_INPUT_MS: '10000',
      });
    },
  );

  it('tells the voice service its public address: the global voice host, else the regional one, unless the values set one', async () => {
    // Every region names the global host, so Twilio's webhooks and streams follow DNS in a failover.
    for (const region of REGIONS)
      expect(config(objects(region)).VOICE_PUBLIC_URL, region).toBe('https://voice.parley.example');
    const { objects: regional } = await renderRegion('us-east', [
      '--set',
      'ingress.globalHosts.voice=',
    ]);
    expect(config(regional).VOICE_PUBLIC_URL).toBe('https://voice.us-east.parley.example');
    const { objects: set } = await renderRegion('us-east', [
      '--set',
      'config.VOICE_PUBLIC_URL=https://calls.example.org',
    ]);
    expect(config(set).VOICE_PUBLIC_URL).toBe('https://calls.example.org');
  });

  it('renders nothing of the offline recognizer while it is off (every region)', () => {
    for (const region of REGIONS) {
      expect(localStt(objects(region)), region).toEqual([]);
      expect(config(objects(region)), region).not.toHaveProperty('VOICE_LOCAL_STT_URL');
      const peers = policy(objects(region), 'parley-voice').spec.egress.flatMap(
        (rule: any) => rule.to,
      );
      expect(peers, region).not.toContainEqual({
        podSelector: { matchLabels: LOCAL_STT_SELECTOR },
      });
    }
  });

  describe.each(REGIONS)('turned on (localStt.enabled=true) in %s', (region) => {
    let on: { text: string; objects: K8sObject[] };
    beforeAll(async () => {
      on = await renderRegion(region, ['--set', 'localStt.enabled=true']);
    });

    it('passes helm lint --strict and renders valid objects', async () => {
      const out = await exec('PARLEY_HELM', [
        'lint',
        CHART,
        '--strict',
        '-f',
        `${CHART}/values-${region}.yaml`,
        '--set',
        'localStt.enabled=true',
      ]);
      expect(out).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
      for (const object of localStt(on.objects)) await validateObject(object);
      expect(
        localStt(on.objects)
          .map((o) => `${o.kind}/${o.metadata.name}`)
          .sort(),
      ).toEqual(
        ['Deployment', 'NetworkPolicy', 'PodDisruptionBudget', 'Service', 'ServiceAccount'].map(
          (kind) => `${kind}/parley-local-stt`,
        ),
      );
    });

    it('runs the recognizer as a non-root, read-only, probed pod with its key from the Secret', () => {
      const deployment = on.objects.find(
        (o) => o.kind === 'Deployment' && o.metadata.name === 'parley-local-stt',
      )!;
      expect(deployment.spec.selector.matchLabels).toEqual(LOCAL_STT_SELECTOR);
      // The cold standby keeps it at zero pods too.
      expect(deployment.spec.replicas).toBe(region === 'us-west-dr' ? 0 : 2);
      const pod = deployment.spec.template.spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
      expect(pod.automountServiceAccountToken).toBe(false);
      const [c] = pod.containers;
      expect(c.image).toBe('ghcr.io/parley-chat/parley-local-stt:0.1.0');
      expect(c.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 65532,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      expect(c.resources).toEqual({
        requests: { cpu: '1', memory: '1Gi' },
        limits: { cpu: '2', memory: '1Gi' },
      });
      expect(c.ports).toEqual([{ name: 'http', containerPort: 8090, protocol: 'TCP' }]);
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe'])
        expect(c[probe].httpGet, probe).toEqual({ path: '/healthz', port: 'http' });
      expect(c.env).toEqual([
        { name: 'LOCAL_STT_THREADS', value: '2' },
        {
          name: 'LOCAL_STT_API_KEY',
          valueFrom: {
            secretKeyRef: { name: 'parley-secrets', key: 'VOICE_LOCAL_STT_KEY', optional: true },
          },
        },
      ]);
      expect(c.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
      const service = on.objects.find(
        (o) => o.kind === 'Service' && o.metadata.name === 'parley-local-stt',
      )!;
      expect(service.spec.selector).toEqual(LOCAL_STT_SELECTOR);
      expect(service.spec.ports).toEqual([
        { name: 'http', port: 8090, targetPort: 'http', protocol: 'TCP' },
      ]);
    });

    it('lets only the voice pods reach it, lets it reach nothing, and points the voice pods at it', () => {
      const own = policy(on.objects, 'parley-local-stt');
      expect(own.spec.podSelector.matchLabels).toEqual(LOCAL_STT_SELECTOR);
      expect(own.spec.policyTypes).toEqual(['Ingress', 'Egress']);
      expect(own.spec.ingress).toEqual([
        {
          from: [
            {
              podSelector: {
                matchLabels: { ...LOCAL_STT_SELECTOR, 'app.kubernetes.io/component': 'voice' },
              },
            },
          ],
          ports: [{ protocol: 'TCP', port: 8090 }],
        },
      ]);
      expect(own.spec.egress).toEqual([]);
      expect(policy(on.objects, 'parley-voice').spec.egress).toContainEqual({
        to: [{ podSelector: { matchLabels: LOCAL_STT_SELECTOR } }],
        ports: [{ protocol: 'TCP', port: 8090 }],
      });
      // No other service may call it.
      for (const other of ['gateway', 'chat', 'ai', 'hitl', 'embedding'])
        expect(
          policy(on.objects, `parley-${other}`).spec.egress.flatMap((rule: any) => rule.to),
          other,
        ).not.toContainEqual({ podSelector: { matchLabels: LOCAL_STT_SELECTOR } });
      // The voice pods read the address from parley-config (envFrom).
      expect(config(on.objects).VOICE_LOCAL_STT_URL).toBe('http://parley-local-stt:8090/v1');
      expect(container(on.objects, 'parley-voice').envFrom).toContainEqual({
        configMapRef: { name: 'parley-config' },
      });
    });

    it('references every secret by name and renders no secret value', () => {
      expect(on.objects.filter((o) => o.kind === 'Secret')).toHaveLength(0);
      expect(on.text).not.toMatch(/\bsk-[A-Za-z0-9]{8,}/);
      const fromSecret = new Set<string>();
      for (const o of on.objects.filter((o) => o.kind === 'Deployment'))
        for (const c of o.spec.template.spec.containers)
          for (const e of c.env ?? []) {
            if (/SECRET|TOKEN|PASSWORD|API_KEY|_KEY$|_URLS?$/.test(e.name))
              expect(e.valueFrom?.secretKeyRef?.name, `${o.metadata.name}/${e.name}`).toBe(
                'parley-secrets',
              );
            if (e.valueFrom?.secretKeyRef) fromSecret.add(e.valueFrom.secretKeyRef.key);
          }
      for (const key of VOICE_SECRETS) expect(fromSecret).toContain(key);
      // No ConfigMap carries a key the Secret holds.
      for (const o of on.objects.filter((o) => o.kind === 'ConfigMap'))
        for (const key of Object.keys(o.data ?? {}))
          expect(fromSecret.has(key), `${o.metadata.name}: ${key}`).toBe(false);
    });
  });
});
