/* eslint-disable @typescript-eslint/no-explicit-any -- the checks walk rendered YAML, which has no static type; validateObject checks it against the Kubernetes schemas. */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHART, REGIONS, exec, parseObjects, renderRegion, type K8sObject } from './tools.js';
import { selectorProblems, validateObject } from './validate.js';

/**
 * The chart's options beyond the regions' defaults: what operators set for
 * their Prometheus, their cluster's conventions and their own policies.
 */
const find = (objects: K8sObject[], kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
};

describe('monitoring.labels (the Prometheus that selects the chart’s objects)', () => {
  it('labels every ServiceMonitor and the PrometheusRule, and nothing else', async () => {
    const { objects } = await renderRegion('us-east', [
      '--set',
      'monitoring.labels.release=kube-prometheus-stack',
    ]);
    const monitors = objects.filter((o) => o.kind === 'ServiceMonitor');
    expect(monitors).toHaveLength(6);
    const rules = objects.filter((o) => o.kind === 'PrometheusRule');
    expect(rules).toHaveLength(1);
    for (const o of [...monitors, ...rules]) {
      expect(o.metadata.labels!.release, `${o.kind}/${o.metadata.name}`).toBe(
        'kube-prometheus-stack',
      );
      // The chart's own labels stay.
      expect(o.metadata.labels!['app.kubernetes.io/part-of']).toBe('parley');
      await validateObject(o);
    }
    // Only the Prometheus Operator's objects: a `release` label elsewhere would mean nothing.
    expect(
      objects
        .filter((o) => o.metadata.labels?.release)
        .map((o) => o.kind)
        .sort(),
    ).toEqual([...monitors, ...rules].map((o) => o.kind).sort());
  });

  it('adds no label by default', async () => {
    const { objects } = await renderRegion('us-east');
    expect(find(objects, 'PrometheusRule', 'parley').metadata.labels).not.toHaveProperty('release');
  });
});

describe('helm/values.schema.json', () => {
  const refused = (extra: string[]) => renderRegion('us-east', extra);

  it('renders the three regions’ values files and the defaults', async () => {
    for (const region of REGIONS)
      expect((await renderRegion(region)).objects.length).toBeGreaterThan(40);
    const defaults = parseObjects(
      await exec('PARLEY_HELM', ['template', 'parley', CHART, '--namespace', 'parley']),
    );
    expect(defaults.length).toBeGreaterThan(40);
  });

  it('refuses a role that is not primary, secondary or standby', async () => {
    await expect(refused(['--set', 'role=standy'])).rejects.toThrow(
      /\/role.*primary.*secondary.*standby/,
    );
  });

  it('refuses misspelt keys where the structure is fixed', async () => {
    for (const key of [
      'replica=3', // top level
      'services.chat.drainSecond=5', // a service
      'services.gateway.hpa.maxReplica=10',
      'monitoring.serviceMonitor=false',
      'ingress.chatHosts=chat.example.org',
      'image.digest=sha256:0', // the map is image.digests
    ])
      await expect(refused(['--set', key]), key).rejects.toThrow(/schema/);
    // The HPA metrics are checked down to their targets.
    await expect(
      refused(['--set', 'services.chat.hpa.metrics[1].resource.target.averageUtilisation=70']),
    ).rejects.toThrow(/averageUtilisation/);
  });

  it('refuses wrong types and values it can tell are wrong', async () => {
    for (const set of [
      'image.pullPolicy=always',
      'services.gateway.port=http',
      'services.chat.hpa.minReplicas=0',
      'region=US East',
      'config.PARLEY_KAFKA_TOPIC_PARTITIONS=twenty',
      'monitoring.scrapeInterval=15',
    ])
      await expect(refused(['--set', set]), set).rejects.toThrow(/schema/);
  });

  it('requires the services and the settings the templates read', async () => {
    await expect(refused(['--set', 'secrets=null'])).rejects.toThrow(/secrets/);
    await expect(refused(['--set', 'services.voice=null'])).rejects.toThrow(/voice/);
    await expect(refused(['--set', 'config.PARLEY_KAFKA_TOPIC=null'])).rejects.toThrow(
      /PARLEY_KAFKA_TOPIC/,
    );
  });
});

describe('the consumers’ HPAs and the topic’s partitions', () => {
  const CONSUMERS = ['chat', 'ai', 'hitl', 'embedding'];
  const hpas = (objects: K8sObject[]) =>
    Object.fromEntries(
      objects
        .filter((o) => o.kind === 'HorizontalPodAutoscaler')
        .map((o) => [o.metadata.name.replace(/^parley-/, ''), o.spec.maxReplicas as number]),
    );

  it('never lets a consumer group grow past the partitions, in any region', async () => {
    for (const region of REGIONS) {
      const { objects } = await renderRegion(region);
      const partitions = Number(
        find(objects, 'ConfigMap', 'parley-config').data!.PARLEY_KAFKA_TOPIC_PARTITIONS,
      );
      expect(partitions).toBe(24);
      const max = hpas(objects);
      for (const service of CONSUMERS)
        expect(max[service], `${region} ${service}`).toBeLessThanOrEqual(partitions);
      // chat's 100 and ai's 30 (the design's) stop at 24; the others are below it.
      expect(max).toEqual({ gateway: 50, chat: 24, voice: 50, ai: 24, hitl: 20, embedding: 15 });
    }
  });

  it('follows the partitions when they change, and leaves the services that do not consume alone', async () => {
    const { objects } = await renderRegion('us-east', [
      '--set',
      'config.PARLEY_KAFKA_TOPIC_PARTITIONS=12',
    ]);
    expect(hpas(objects)).toEqual({
      gateway: 50,
      chat: 12,
      voice: 50,
      ai: 12,
      hitl: 12,
      embedding: 12,
    });
    const more = await renderRegion('us-east', [
      '--set',
      'config.PARLEY_KAFKA_TOPIC_PARTITIONS=120',
    ]);
    expect(hpas(more.objects)).toMatchObject({ chat: 100, ai: 30 });
  });

  it('refuses a minReplicas above the partitions, saying which', async () => {
    await expect(
      renderRegion('us-east', ['--set', 'config.PARLEY_KAFKA_TOPIC_PARTITIONS=8']),
    ).rejects.toThrow(
      /services\.chat\.hpa\.minReplicas \(10\) is more than the topic's partitions/,
    );
  });
});

describe('voice calls through rollouts, scale-downs and node drains', () => {
  const voice = (objects: K8sObject[]) => find(objects, 'Deployment', 'parley-voice');
  const env = (d: K8sObject) =>
    Object.fromEntries(
      d.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]),
    );

  it('lets a call go on for the longest drain the service accepts, and the pod live through it', async () => {
    for (const region of REGIONS) {
      const d = voice((await renderRegion(region)).objects);
      // The services refuse SHUTDOWN_DEADLINE_MS above 600000 (packages/config).
      expect(env(d).SHUTDOWN_DEADLINE_MS, region).toBe('600000');
      const pod = d.spec.template.spec;
      const preStop = pod.containers[0].lifecycle.preStop.sleep.seconds;
      expect(pod.terminationGracePeriodSeconds, region).toBe(preStop + 600 + 5);
    }
  });

  it('takes a longer grace period from the values, and refuses one shorter than the drain', async () => {
    const { objects } = await renderRegion('us-east', [
      '--set',
      'services.voice.terminationGracePeriodSeconds=3600',
    ]);
    expect(voice(objects).spec.template.spec.terminationGracePeriodSeconds).toBe(3600);
    await expect(
      renderRegion('us-east', ['--set', 'services.voice.terminationGracePeriodSeconds=300']),
    ).rejects.toThrow(/services\.voice\.terminationGracePeriodSeconds \(300\) is shorter/);
    // A drain the service would refuse to start with never renders.
    await expect(
      renderRegion('us-east', ['--set', 'services.voice.drainSeconds=3600']),
    ).rejects.toThrow(/drainSeconds/);
  });

  it('annotates the pods with a deletion cost only when the values give one', async () => {
    const KEY = 'controller.kubernetes.io/pod-deletion-cost';
    const plain = voice((await renderRegion('us-east')).objects);
    expect(plain.spec.template.metadata.annotations).not.toHaveProperty(KEY);
    const { objects } = await renderRegion('us-east', [
      '--set',
      'services.voice.podDeletionCost=100',
    ]);
    expect(voice(objects).spec.template.metadata.annotations[KEY]).toBe('100');
    await validateObject(voice(objects));
  });

  it('lets each voice pod keep its own deletion cost when asked: token, pod name, a Role to patch pods, a way to the API server', async () => {
    const plain = (await renderRegion('us-east')).objects;
    expect(voice(plain).spec.template.spec.automountServiceAccountToken).toBe(false);
    expect(plain.filter((o) => o.kind === 'Role' || o.kind === 'RoleBinding')).toEqual([]);
    const { objects } = await renderRegion('us-east', [
      '--set',
      'services.voice.dynamicDeletionCost=true',
      '--set',
      'dependencies.kubeApi.to[0].ipBlock.cidr=172.20.0.1/32',
    ]);
    const pod = voice(objects).spec.template.spec;
    expect(pod.automountServiceAccountToken).toBe(true);
    const env = Object.fromEntries(
      pod.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]),
    );
    expect(env).toMatchObject({
      VOICE_POD_DELETION_COST: 'true',
      POD_NAME: { fieldRef: { fieldPath: 'metadata.name' } },
      POD_NAMESPACE: { fieldRef: { fieldPath: 'metadata.namespace' } },
    });
    // Only voice: the other services keep no token.
    for (const o of objects.filter(
      (o) => o.kind === 'Deployment' && o.metadata.name !== 'parley-voice',
    ))
      expect(o.spec.template.spec.automountServiceAccountToken, o.metadata.name).toBe(false);
    const role = find(objects, 'Role', 'parley-voice-deletion-cost') as any;
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['patch'] }]);
    const binding = find(objects, 'RoleBinding', 'parley-voice-deletion-cost') as any;
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: pod.serviceAccountName, namespace: 'parley' },
    ]);
    const policy = find(objects, 'NetworkPolicy', 'parley-voice') as any;
    expect(policy.spec.egress).toContainEqual({
      to: [{ ipBlock: { cidr: '172.20.0.1/32' } }],
      ports: [
        { protocol: 'TCP', port: 443 },
        { protocol: 'TCP', port: 6443 },
      ],
    });
    for (const o of [voice(objects), role, binding, policy]) await validateObject(o);
  });

  it('keeps voluntary disruptions to a budget that selects the voice pods, configurable per service', async () => {
    const { objects } = await renderRegion('us-east');
    const pdb = find(objects, 'PodDisruptionBudget', 'parley-voice');
    const labels = voice(objects).spec.template.metadata.labels;
    expect(Object.entries(pdb.spec.selector.matchLabels).every(([k, v]) => labels[k] === v)).toBe(
      true,
    );
    expect(pdb.spec.maxUnavailable).toBe('10%');
    const own = await renderRegion('us-east', [
      '--set',
      'services.voice.pdb.maxUnavailable=1',
      '--set',
      'podDisruptionBudget.maxUnavailable=null',
      '--set',
      'podDisruptionBudget.minAvailable=50%',
    ]);
    expect(find(own.objects, 'PodDisruptionBudget', 'parley-voice').spec).toMatchObject({
      maxUnavailable: 1,
    });
    expect(find(own.objects, 'PodDisruptionBudget', 'parley-voice').spec).not.toHaveProperty(
      'minAvailable',
    );
    expect(find(own.objects, 'PodDisruptionBudget', 'parley-chat').spec).toMatchObject({
      minAvailable: '50%',
    });
    expect(find(own.objects, 'PodDisruptionBudget', 'parley-chat').spec).not.toHaveProperty(
      'maxUnavailable',
    );
    // Both at once is not a budget.
    await expect(
      renderRegion('us-east', [
        '--set',
        'services.voice.pdb.minAvailable=1,services.voice.pdb.maxUnavailable=1',
      ]),
    ).rejects.toThrow(/schema/);
  });
});

/** `helm template` as release `release` of the us-east values, in namespace parley. */
async function renderRelease(release: string, extra: string[] = []): Promise<K8sObject[]> {
  return parseObjects(
    await exec('PARLEY_HELM', [
      'template',
      release,
      CHART,
      '--namespace',
      'parley',
      '-f',
      `${CHART}/values-us-east.yaml`,
      ...extra,
    ]),
  );
}

/** Every pod spec a render has, by kind/name: Deployments, Jobs, CronJobs and Pods. */
function podSpecsOf(objects: K8sObject[]): Array<[string, any, any]> {
  return objects.flatMap((o): Array<[string, any, any]> => {
    const key = `${o.kind}/${o.metadata.name}`;
    if (o.kind === 'Deployment' || o.kind === 'Job' || o.kind === 'StatefulSet')
      return [[key, o.spec.template.metadata, o.spec.template.spec]];
    if (o.kind === 'CronJob')
      return [
        [key, o.spec.jobTemplate.spec.template.metadata, o.spec.jobTemplate.spec.template.spec],
      ];
    if (o.kind === 'Pod') return [[key, o.metadata, o.spec]];
    return [];
  });
}

const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

/** Every name an object of the render refers to that the render does not have (or the operator's Secret/claim). */
function danglingReferences(objects: K8sObject[]): string[] {
  const has = new Set(objects.map((o) => `${o.kind}/${o.metadata.name}`));
  const missing: string[] = [];
  const need = (from: string, key: string) => {
    if (!has.has(key)) missing.push(`${from} → ${key}`);
  };
  for (const [key, , pod] of podSpecsOf(objects)) {
    if (pod.serviceAccountName) need(key, `ServiceAccount/${pod.serviceAccountName}`);
    for (const c of pod.containers)
      for (const from of c.envFrom ?? [])
        if (from.configMapRef) need(key, `ConfigMap/${from.configMapRef.name}`);
  }
  for (const o of objects) {
    const key = `${o.kind}/${o.metadata.name}`;
    if (o.kind === 'HorizontalPodAutoscaler')
      need(key, `${o.spec.scaleTargetRef.kind}/${o.spec.scaleTargetRef.name}`);
    if (o.kind === 'Ingress')
      for (const rule of o.spec.rules)
        for (const path of rule.http.paths) need(key, `Service/${path.backend.service.name}`);
  }
  return missing;
}

describe('names: nameOverride, fullnameOverride and two releases in one namespace', () => {
  it('gives two releases in one namespace no object name in common, and neither selects the other’s pods', async () => {
    const a = await renderRelease('parley');
    const b = await renderRelease('canary');
    const names = (objects: K8sObject[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(names(b).filter((n) => names(a).includes(n))).toEqual([]);
    expect(names(b)).toContain('Deployment/canary-parley-gateway');
    for (const [mine, theirs] of [
      [a, b],
      [b, a],
    ] as const) {
      const theirPods = podSpecsOf(theirs).map(([, meta]) => meta.labels);
      for (const o of mine) {
        const selector =
          o.kind === 'Service'
            ? o.spec.selector
            : ['PodDisruptionBudget', 'Deployment', 'ServiceMonitor'].includes(o.kind)
              ? o.spec.selector.matchLabels
              : o.kind === 'NetworkPolicy'
                ? o.spec.podSelector.matchLabels
                : undefined;
        if (!selector) continue;
        for (const labels of theirPods)
          expect(matches(selector, labels), `${o.kind}/${o.metadata.name}`).toBe(false);
      }
    }
    // Each release refers only to its own objects, and the AI service searches its own embedding service.
    expect(danglingReferences(a)).toEqual([]);
    expect(danglingReferences(b)).toEqual([]);
    expect(find(b, 'ConfigMap', 'canary-parley-config').data!.AI_KNOWLEDGE_URL).toBe(
      'http://canary-parley-embedding:8084',
    );
    expect(find(a, 'ConfigMap', 'parley-config').data!.AI_KNOWLEDGE_URL).toBe(
      'http://parley-embedding:8084',
    );
    // Prometheus' job stays parley-<service>, which the dashboards and alerts select on.
    const monitor = find(b, 'ServiceMonitor', 'canary-parley-chat');
    expect(monitor.spec.jobLabel).toBe('parley.dev/job');
    expect(find(b, 'Service', 'canary-parley-chat').metadata.labels![monitor.spec.jobLabel]).toBe(
      'parley-chat',
    );
  });

  it('names everything <fullnameOverride>-<component>, and labels it with nameOverride', async () => {
    const objects = await renderRelease('parley', [
      '--set',
      'fullnameOverride=chat-eu',
      '--set',
      'probe.enabled=true,probe.widgetKey=pk,probe.origin=https://o.example',
      '--set',
      'localStt.enabled=true,postgresFailover.enabled=true',
    ]);
    for (const o of objects)
      expect(o.metadata.name, `${o.kind}/${o.metadata.name}`).toMatch(/^chat-eu(-|$)/);
    expect(danglingReferences(objects)).toEqual([]);
    const config = find(objects, 'ConfigMap', 'chat-eu-config').data!;
    expect(config.VOICE_LOCAL_STT_URL).toBe('http://chat-eu-local-stt:8090/v1');
    const probe = find(objects, 'CronJob', 'chat-eu-probe');
    expect(probe.spec.jobTemplate.spec.template.spec.containers[0].args[2]).toBe(
      'http://chat-eu-gateway:8080',
    );
    const renamed = await renderRelease('parley', ['--set', 'nameOverride=support']);
    const gateway = find(renamed, 'Deployment', 'parley-support-gateway');
    expect(gateway.spec.selector.matchLabels['app.kubernetes.io/name']).toBe('support');
    expect(gateway.spec.template.metadata.labels['app.kubernetes.io/part-of']).toBe('parley');
    expect(danglingReferences(renamed)).toEqual([]);
  });

  it('keeps what two releases share apart: dashboard uids, WAL slots, integrity results', async () => {
    const results = async (fullname: string | undefined) => {
      const objects = await renderRelease('parley', [
        ...(fullname ? ['--set', `fullnameOverride=${fullname}`] : []),
        '--set',
        'integrityCheck.pushgateway=http://pushgateway.monitoring:9091',
        '--set',
        'backups.storageUrl=s3://backups/shared',
      ]);
      const prefix = fullname ?? 'parley';
      const uids = objects
        .filter((o) => o.kind === 'ConfigMap' && o.metadata.name.includes('-dashboard-'))
        .map(
          (o: any) =>
            (JSON.parse(Object.values(o.data as Record<string, string>)[0]!) as { uid: string })
              .uid,
        )
        .sort();
      const stream = find(objects, 'StatefulSet', `${prefix}-backup-wal-stream`) as any;
      const streamArgs: string[] = stream.spec.template.spec.containers[0].args;
      const backup = streamArgs[streamArgs.indexOf('--slot') + 1];
      const integrity = find(objects, 'CronJob', `${prefix}-integrity-check`) as any;
      return {
        uids,
        backup,
        args: integrity.spec.jobTemplate.spec.template.spec.containers[0].args,
      };
    };
    const plain = await results(undefined);
    expect(plain.uids).toEqual([
      'parley-data',
      'parley-overview',
      'parley-resilience',
      'parley-services',
    ]);
    expect(plain.args.slice(-2)).toEqual(['--release', 'parley']);
    const other = await results('shop');
    expect(other.uids).toEqual(['shop-data', 'shop-overview', 'shop-resilience', 'shop-services']);
    // Two releases streaming from one Postgres hold a replication slot each.
    expect(plain.backup).toBe('parley_wal');
    expect(other.backup).toBe('shop_wal');
    expect(other.args.slice(-2)).toEqual(['--release', 'shop']);
  });

  it('keeps the default names for the release `parley`', async () => {
    const objects = await renderRelease('parley');
    expect(find(objects, 'Deployment', 'parley-gateway')).toBeDefined();
    expect(find(objects, 'PrometheusRule', 'parley')).toBeDefined();
  });
});

describe('scheduling and pod metadata', () => {
  it('puts the chart-wide settings on every pod, and a service’s own in their place', async () => {
    const objects = await renderRelease('parley', [
      '--set',
      'nodeSelector.pool=parley,priorityClassName=parley-normal',
      '--set',
      'tolerations[0].key=dedicated,tolerations[0].operator=Equal,tolerations[0].value=parley,tolerations[0].effect=NoSchedule',
      '--set',
      'affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=arch',
      '--set',
      'affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=In',
      '--set',
      'affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values[0]=amd64',
      '--set',
      'services.voice.nodeSelector.pool=voice,services.voice.priorityClassName=parley-calls',
      '--set',
      'postgresFailover.enabled=true,localStt.enabled=true',
    ]);
    const specs = podSpecsOf(objects);
    // Services, local-stt, the failover watcher, the setup hook, the CronJobs and the test Pod.
    expect(specs.length).toBeGreaterThanOrEqual(12);
    for (const [key, , pod] of specs) {
      const voice = key === 'Deployment/parley-voice';
      expect(pod.nodeSelector, key).toEqual({ pool: voice ? 'voice' : 'parley' });
      expect(pod.priorityClassName, key).toBe(voice ? 'parley-calls' : 'parley-normal');
      expect(pod.tolerations, key).toEqual([
        { key: 'dedicated', operator: 'Equal', value: 'parley', effect: 'NoSchedule' },
      ]);
      expect(
        pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution
          .nodeSelectorTerms[0].matchExpressions[0],
        key,
      ).toEqual({ key: 'arch', operator: 'In', values: ['amd64'] });
    }
    for (const o of objects) await validateObject(o);
  });

  it('renders none of them by default', async () => {
    for (const [key, , pod] of podSpecsOf(await renderRelease('parley')))
      for (const field of ['nodeSelector', 'tolerations', 'affinity', 'priorityClassName'])
        expect(pod, key).not.toHaveProperty(field);
  });

  it('adds podLabels and podAnnotations, the service’s over the chart’s, never over the selector labels', async () => {
    const objects = await renderRelease('parley', [
      '--set',
      'podLabels.team=support,podLabels.tier=web,services.chat.podLabels.tier=worker',
      '--set',
      'podLabels.app\\.kubernetes\\.io/component=hijacked',
      '--set',
      'podAnnotations.vault\\.example/role=parley,services.chat.podAnnotations.sidecar\\.istio\\.io/inject=false',
    ]);
    for (const [key, meta] of podSpecsOf(objects)) {
      expect(meta.labels.team, key).toBe('support');
      expect(meta.labels.tier, key).toBe(key === 'Deployment/parley-chat' ? 'worker' : 'web');
      expect(meta.labels['app.kubernetes.io/component'], key).not.toBe('hijacked');
      expect(meta.annotations['vault.example/role'], key).toBe('parley');
    }
    const chat = find(objects, 'Deployment', 'parley-chat');
    expect(chat.spec.template.metadata.annotations).toMatchObject({
      'sidecar.istio.io/inject': 'false',
      'checksum/config': expect.any(String),
    });
    expect(matches(chat.spec.selector.matchLabels, chat.spec.template.metadata.labels)).toBe(true);
  });

  it('adds extraEnv, extraVolumes and extraVolumeMounts to the services’ containers', async () => {
    const objects = await renderRelease('parley', [
      '--set',
      'extraEnv[0].name=NODE_OPTIONS,extraEnv[0].value=--max-old-space-size=400',
      '--set',
      'services.ai.extraEnv[0].name=HTTPS_PROXY,services.ai.extraEnv[0].value=http://proxy:3128',
      '--set',
      'services.ai.extraVolumes[0].name=ca,services.ai.extraVolumes[0].configMap.name=corporate-ca',
      '--set',
      'services.ai.extraVolumeMounts[0].name=ca,services.ai.extraVolumeMounts[0].mountPath=/etc/ssl/corporate,services.ai.extraVolumeMounts[0].readOnly=true',
    ]);
    const container = (name: string) =>
      find(objects, 'Deployment', name).spec.template.spec.containers[0];
    const env = (name: string) => container(name).env.map((e: any) => e.name);
    expect(env('parley-ai').slice(-2)).toEqual(['NODE_OPTIONS', 'HTTPS_PROXY']);
    expect(env('parley-chat').at(-1)).toBe('NODE_OPTIONS');
    expect(env('parley-chat')).not.toContain('HTTPS_PROXY');
    expect(container('parley-ai').volumeMounts).toEqual([
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'ca', mountPath: '/etc/ssl/corporate', readOnly: true },
    ]);
    expect(find(objects, 'Deployment', 'parley-ai').spec.template.spec.volumes).toContainEqual({
      name: 'ca',
      configMap: { name: 'corporate-ca' },
    });
    expect(container('parley-chat').volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
    for (const o of objects.filter((o) => o.kind === 'Deployment')) await validateObject(o);
  });

  it('annotates the ServiceAccounts for a cloud identity, the service’s over the chart’s', async () => {
    const objects = await renderRelease('parley', [
      '--set',
      'serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::1:role/parley',
      '--set',
      'services.embedding.serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::1:role/parley-embedding',
    ]);
    const role = (name: string) =>
      find(objects, 'ServiceAccount', name).metadata.annotations!['eks.amazonaws.com/role-arn'];
    expect(role('parley-gateway')).toBe('arn:aws:iam::1:role/parley');
    expect(role('parley-embedding')).toBe('arn:aws:iam::1:role/parley-embedding');
    expect(
      find(await renderRelease('parley'), 'ServiceAccount', 'parley-gateway').metadata,
    ).not.toHaveProperty('annotations');
  });

  it('pulls a component by digest when image.digests has one, by tag otherwise', async () => {
    const digest = `sha256:${'ab'.repeat(32)}`;
    const objects = await renderRelease('parley', [
      '--set',
      `image.digests.chat=${digest},image.tag=1.2.3`,
    ]);
    const images = Object.fromEntries(
      podSpecsOf(objects).map(([key, , pod]) => [key, pod.containers[0].image]),
    );
    const chat = `ghcr.io/parley-chat/parley-chat@${digest}`;
    expect(images).toMatchObject({
      'Deployment/parley-chat': chat,
      // The setup hook and the integrity check run the chat image.
      'Job/parley-setup': chat,
      'CronJob/parley-integrity-check': chat,
      'Deployment/parley-gateway': 'ghcr.io/parley-chat/parley-gateway:1.2.3',
    });
    await expect(renderRelease('parley', ['--set', 'image.digests.chat=latest'])).rejects.toThrow(
      /schema/,
    );
  });

  it('takes the probes’ timings from the values, a service’s over the chart’s', async () => {
    const objects = await renderRelease('parley', [
      '--set',
      'probes.liveness.timeoutSeconds=5,services.ai.probes.readiness.periodSeconds=15',
    ]);
    const probes = (name: string) =>
      find(objects, 'Deployment', name).spec.template.spec.containers[0];
    expect(probes('parley-chat').livenessProbe).toEqual({
      httpGet: { path: '/healthz', port: 'http' },
      periodSeconds: 10,
      timeoutSeconds: 5,
      failureThreshold: 3,
    });
    expect(probes('parley-ai').readinessProbe).toEqual({
      httpGet: { path: '/readyz', port: 'http' },
      periodSeconds: 15,
      timeoutSeconds: 3,
      failureThreshold: 2,
    });
    expect(probes('parley-chat').readinessProbe.periodSeconds).toBe(5);
    await expect(
      renderRelease('parley', ['--set', 'probes.liveness.timeoutSecond=5']),
    ).rejects.toThrow(/schema/);
  });
});

describe('helm test and the release notes', () => {
  it('checks the gateway’s /readyz through its Service from a non-root, read-only pod of the gateway image', async () => {
    const objects = await renderRelease('parley');
    const tests = objects.filter((o) => o.metadata.annotations?.['helm.sh/hook'] === 'test');
    expect(tests.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'NetworkPolicy/parley-gateway-from-test',
      'NetworkPolicy/parley-test',
      'Pod/parley-test-readyz',
    ]);
    for (const o of tests) await validateObject(o);
    const pod = find(objects, 'Pod', 'parley-test-readyz');
    expect(pod.spec).toMatchObject({ restartPolicy: 'Never', automountServiceAccountToken: false });
    expect(pod.spec.securityContext.runAsNonRoot).toBe(true);
    const [c] = pod.spec.containers;
    expect(c.image).toBe(
      find(objects, 'Deployment', 'parley-gateway').spec.template.spec.containers[0].image,
    );
    expect(c.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(c.args.at(-1)).toBe('http://parley-gateway:8080/readyz');
    // The policies let exactly this pod reach the gateway's port.
    const egress = find(objects, 'NetworkPolicy', 'parley-test');
    expect(matches(egress.spec.podSelector.matchLabels, pod.metadata.labels)).toBe(true);
    expect(egress.spec.egress).toHaveLength(1);
    expect(egress.spec.egress[0].ports).toEqual([{ protocol: 'TCP', port: 8080 }]);
    const admit = find(objects, 'NetworkPolicy', 'parley-gateway-from-test');
    expect(
      matches(admit.spec.ingress[0].from[0].podSelector.matchLabels, pod.metadata.labels),
    ).toBe(true);
    // No test where no pod runs.
    expect(
      (await renderRegion('us-west-dr')).objects.filter(
        (o) => o.metadata.annotations?.['helm.sh/hook'] === 'test',
      ),
    ).toEqual([]);
  });

  /** templates/NOTES.txt as `helm install` prints it: the same named template, rendered into a ConfigMap of a copy of the chart. */
  async function notes(extra: string[] = []): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'parley-notes-'));
    try {
      await cp(CHART, dir, { recursive: true });
      await writeFile(
        join(dir, 'templates/zz-notes.yaml'),
        'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: notes }\ndata:\n  notes: {{ include "parley.notes" . | quote }}\n',
      );
      const [cm] = parseObjects(
        await exec('PARLEY_HELM', [
          'template',
          'parley',
          dir,
          '--namespace',
          'parley',
          '-s',
          'templates/zz-notes.yaml',
          ...extra,
        ]),
      );
      return cm!.data!.notes!;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  it('prints where the release answers, how to test it, and what Prometheus needs', async () => {
    expect(await readFile(join(CHART, 'templates/NOTES.txt'), 'utf8')).toContain('parley.notes');
    const text = await notes(['-f', `${CHART}/values-us-east.yaml`]);
    expect(text).toContain('region us-east (primary)');
    expect(text).toContain('helm test parley -n parley');
    expect(text).toContain('https://chat.us-east.parley.example/');
    expect(text).toContain('parley-prometheus-adapter');
    expect(text).toMatch(/WARNING: monitoring\.labels is empty/);
    const labelled = await notes([
      '-f',
      `${CHART}/values-us-east.yaml`,
      '--set',
      'monitoring.labels.release=kps',
    ]);
    expect(labelled).not.toContain('WARNING');
    // A primary without a backup storage is told that nothing is backed up.
    const noBackups = await notes([
      '-f',
      `${CHART}/values-us-east.yaml`,
      '--set',
      'monitoring.labels.release=kps',
      '--set',
      'backups.storageUrl=',
    ]);
    expect(noBackups).toMatch(/WARNING: no backups run\. Set backups\.storageUrl/);
    const standby = await notes(['-f', `${CHART}/values-us-west-dr.yaml`]);
    expect(standby).toContain('Cold standby');
    expect(standby).not.toContain('helm test');
  });
});

describe('NetworkPolicies for what the chart itself reaches', () => {
  /** Whether some policy selecting `labels` lets them reach `port` (optionally only through a rule naming `peer`). */
  const egressTo = (objects: K8sObject[], labels: Record<string, string>, port: number) =>
    objects
      .filter((o) => o.kind === 'NetworkPolicy' && o.spec.policyTypes.includes('Egress'))
      .filter((p) => {
        const sel = p.spec.podSelector;
        const exprs = (sel.matchExpressions ?? []).every(
          (e: any) => e.operator === 'In' && e.values.includes(labels[e.key]),
        );
        return matches(sel.matchLabels ?? {}, labels) && exprs;
      })
      .flatMap((p) => p.spec.egress ?? [])
      .filter((rule: any) => rule.ports?.some((p: any) => p.port === port));
  const podLabels = (objects: K8sObject[], key: string) =>
    podSpecsOf(objects).find(([k]) => k === key)![1].labels as Record<string, string>;

  it('lets the integrity check reach the Pushgateway it pushes to, and only it', async () => {
    const off = await renderRelease('parley');
    const integrity = podLabels(off, 'CronJob/parley-integrity-check');
    expect(egressTo(off, integrity, 9091)).toEqual([]);
    const on = await renderRelease('parley', [
      '--set',
      'integrityCheck.pushgateway=http://pushgateway.monitoring:9091',
    ]);
    const rules = egressTo(on, podLabels(on, 'CronJob/parley-integrity-check'), 9091);
    expect(rules).toEqual([
      {
        to: [
          { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
        ],
        ports: [{ protocol: 'TCP', port: 9091 }],
      },
    ]);
    // The backups have their own policy, not this one.
    const backups = await renderRelease('parley', [
      '--set',
      'integrityCheck.pushgateway=http://pushgateway.monitoring:9091',
      '--set',
      'backups.storageUrl=s3://backups/parley',
    ]);
    expect(egressTo(backups, podLabels(backups, 'CronJob/parley-backup-full'), 9091)).toEqual([]);
    // The port follows the URL.
    const https = await renderRelease('parley', [
      '--set',
      'integrityCheck.pushgateway=https://push.example.org',
    ]);
    expect(egressTo(https, podLabels(https, 'CronJob/parley-integrity-check'), 443)).toHaveLength(
      1,
    );
    for (const o of on.filter((o) => o.kind === 'NetworkPolicy')) await validateObject(o);
  });

  it('backs up once a storage is set: daily full, WAL streamed, hourly Redis, reaching only Postgres, Redis and the storage', async () => {
    // us-east's values name a bucket; without one nothing is backed up (and NOTES warns).
    const off = await renderRelease('parley', ['--set', 'backups.storageUrl=']);
    expect(off.filter((o) => o.metadata.name.startsWith('parley-backup'))).toEqual([]);
    const on = await renderRelease('parley', [
      '--set',
      'backups.storageUrl=s3://parley-backups-us-west-2/us-east',
      '--set',
      'backups.storageEndpoint=https://minio.backups.example:9000',
      '--set',
      'backups.storagePorts={9000}',
      '--set',
      'backups.storagePeers[0].ipBlock.cidr=10.99.0.0/16',
    ]);
    const backups = on.filter((o) => o.metadata.name.startsWith('parley-backup'));
    expect(backups.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'CronJob/parley-backup-full',
      'CronJob/parley-backup-redis',
      'NetworkPolicy/parley-backup',
      'ServiceAccount/parley-backup',
      'StatefulSet/parley-backup-wal-stream',
    ]);
    const full = find(on, 'CronJob', 'parley-backup-full') as any;
    const redis = find(on, 'CronJob', 'parley-backup-redis') as any;
    expect(full.spec.schedule).toBe('17 3 * * *');
    expect(redis.spec.schedule).toBe('23 * * * *');
    const fullPod = full.spec.jobTemplate.spec.template.spec;
    expect(fullPod.containers[0].image).toBe('ghcr.io/parley-chat/parley-dr:0.1.0');
    expect(fullPod.containers[0].args[0]).toContain(
      'backup create && node /app/dist/cli.js backup prune',
    );
    const env = (pod: any) =>
      Object.fromEntries(pod.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
    expect(env(fullPod)).toMatchObject({
      PARLEY_BACKUP_URL: 's3://parley-backups-us-west-2/us-east',
      PARLEY_S3_ENDPOINT: 'https://minio.backups.example:9000',
      // Secrets by reference only.
      PARLEY_PG_REPLICATION_URL: {
        secretKeyRef: { name: 'parley-secrets', key: 'PARLEY_PG_REPLICATION_URL' },
      },
      AWS_ACCESS_KEY_ID: {
        secretKeyRef: {
          name: 'parley-secrets',
          key: 'PARLEY_BACKUP_ACCESS_KEY_ID',
          optional: true,
        },
      },
    });
    expect(fullPod.serviceAccountName).toBe('parley-backup');
    for (const key of [
      'CronJob/parley-backup-full',
      'CronJob/parley-backup-redis',
      'StatefulSet/parley-backup-wal-stream',
    ]) {
      const labels = podLabels(on, key);
      expect(egressTo(on, labels, 5432), key).toHaveLength(1);
      expect(egressTo(on, labels, 6379), key).toHaveLength(1);
      expect(egressTo(on, labels, 9000), key).toEqual([
        { to: [{ ipBlock: { cidr: '10.99.0.0/16' } }], ports: [{ protocol: 'TCP', port: 9000 }] },
      ]);
      // Nothing else: not HTTPS to the internet, not Kafka.
      expect(egressTo(on, labels, 443), key).toEqual([]);
      expect(egressTo(on, labels, 9092), key).toEqual([]);
    }
    const stream = find(on, 'StatefulSet', 'parley-backup-wal-stream') as any;
    expect(stream.spec.replicas).toBe(1);
    expect(stream.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('2Gi');
    expect(stream.spec.template.spec.containers[0].args).toEqual([
      'wal-stream',
      '--spool',
      '/spool',
      '--slot',
      'parley_wal',
      '--partial-every',
      '60',
    ]);
    for (const o of backups) await validateObject(o);
    // A secondary region backs nothing up, storage or not.
    const secondary = await renderRelease('parley', [
      '--set',
      'role=secondary',
      '--set',
      'backups.storageUrl=s3://parley-backups/x',
    ]);
    expect(secondary.filter((o) => o.metadata.name.startsWith('parley-backup'))).toEqual([]);
  });

  it('lets every service reach the OTLP collector when an endpoint is configured', async () => {
    const off = await renderRelease('parley');
    expect(off.filter((o) => o.metadata.name === 'parley-otlp')).toEqual([]);
    const on = await renderRelease('parley', [
      '--set',
      'config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://otel-collector.monitoring:4318/v1/traces',
      '--set',
      'backups.storageUrl=s3://backups/parley',
    ]);
    for (const service of ['gateway', 'chat', 'voice', 'ai', 'hitl', 'embedding'])
      expect(
        egressTo(on, podLabels(on, `Deployment/parley-${service}`), 4318),
        service,
      ).toHaveLength(1);
    // Not the jobs, which send no traces.
    expect(egressTo(on, podLabels(on, 'CronJob/parley-backup-full'), 4318)).toEqual([]);
    await validateObject(find(on, 'NetworkPolicy', 'parley-otlp'));
  });

  it('adds networkPolicy.extraEgress to every service, and a service’s own extraEgress to it alone', async () => {
    const on = await renderRelease('parley', [
      '--set',
      'networkPolicy.extraEgress[0].to[0].ipBlock.cidr=10.99.0.10/32,networkPolicy.extraEgress[0].ports[0].port=3128',
      '--set',
      'services.ai.extraEgress[0].to[0].ipBlock.cidr=10.98.0.0/24,services.ai.extraEgress[0].ports[0].port=8443',
    ]);
    for (const service of ['gateway', 'chat', 'voice', 'ai', 'hitl', 'embedding']) {
      const labels = podLabels(on, `Deployment/parley-${service}`);
      expect(egressTo(on, labels, 3128), service).toEqual([
        { to: [{ ipBlock: { cidr: '10.99.0.10/32' } }], ports: [{ port: 3128 }] },
      ]);
      expect(egressTo(on, labels, 8443), service).toHaveLength(service === 'ai' ? 1 : 0);
    }
    for (const o of on.filter((o) => o.kind === 'NetworkPolicy')) await validateObject(o);
    await expect(
      renderRelease('parley', [
        '--set',
        'networkPolicy.extraEgress[0].too[0].ipBlock.cidr=1.1.1.1/32',
      ]),
    ).rejects.toThrow(/schema/);
  });
});

describe('strict validation of what the chart renders', () => {
  /** Renders with a post-renderer running `sed -e <expression>` over the manifests. */
  async function renderThroughSed(expression: string, extra: string[] = []) {
    const dir = await mkdtemp(join(tmpdir(), 'parley-post-render-'));
    try {
      const script = join(dir, 'sed.sh');
      await writeFile(script, `#!/bin/sh\nexec sed -e '${expression}'\n`, { mode: 0o755 });
      return await renderRelease('parley', ['--post-renderer', script, ...extra]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const validateAll = async (objects: K8sObject[]) => {
    for (const o of objects) await validateObject(o);
  };

  it('passes every object of a render with every option on', async () => {
    const objects = await renderRelease('parley', [
      '--set',
      'localStt.enabled=true,postgresFailover.enabled=true',
      '--set',
      'probe.enabled=true,probe.widgetKey=pk,probe.origin=https://o.example,probe.pushgateway=http://pushgateway.monitoring:9091',
      '--set',
      'integrityCheck.pushgateway=http://pushgateway.monitoring:9091',
      '--set',
      'config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://otel-collector.monitoring:4318/v1/traces',
      '--set',
      'monitoring.labels.release=kube-prometheus-stack',
      '--set',
      'services.voice.dynamicDeletionCost=true,tls.caSecret=parley-ca,tls.redisCaKey=redis.pem',
      '--set',
      'backups.storageEndpoint=https://minio.example:9000,backups.storageRegion=eu-central-1',
    ]);
    // us-east's values name the backup bucket: the backup workloads are in.
    expect(objects.some((o) => o.kind === 'StatefulSet')).toBe(true);
    await validateAll(objects);
    expect(selectorProblems(objects)).toEqual([]);
  });

  it('fails a misspelt probe, which the API server would drop without a word', async () => {
    const objects = await renderThroughSed('s/livenessProbe:/livenesProbe:/');
    await expect(validateAll(objects)).rejects.toThrow(
      /Deployment\/parley-\w+: unknown field \.spec\.template\.spec\.containers\[0\]\.livenesProbe/,
    );
  });

  it('fails a misspelt HPA target, in the rendered HPA and already in the values', async () => {
    const objects = await renderThroughSed('s/averageUtilization:/averageUtilisation:/');
    await expect(validateAll(objects)).rejects.toThrow(
      /HorizontalPodAutoscaler\/parley-\w+: unknown field \.spec\.metrics\[\d\]\.resource\.target\.averageUtilisation/,
    );
    await expect(
      renderRelease('parley', [
        '--set',
        'services.gateway.hpa.metrics[0].resource.target.averageUtilisation=70',
      ]),
    ).rejects.toThrow(/averageUtilisation/);
  });

  it('names a budget, Service or HPA that selects no rendered pod', async () => {
    const objects = structuredClone(await renderRelease('parley'));
    find(objects, 'PodDisruptionBudget', 'parley-chat').spec.selector.matchLabels[
      'app.kubernetes.io/component'
    ] = 'chats';
    find(objects, 'Service', 'parley-voice').spec.selector['app.kubernetes.io/instance'] = 'other';
    find(objects, 'HorizontalPodAutoscaler', 'parley-ai').spec.scaleTargetRef.name = 'parley-a1';
    expect(selectorProblems(objects).sort()).toEqual([
      'HorizontalPodAutoscaler/parley-ai: no rendered Deployment/parley-a1 to scale',
      'PodDisruptionBudget/parley-chat: its selector matches no rendered pod',
      'Service/parley-voice: its selector matches no rendered pod',
    ]);
  });
});

describe('managed services: private CAs, SASL and topics (docs/operators/managed-services.md)', () => {
  const containers = (objects: K8sObject[]) =>
    objects
      .filter((o) => o.kind === 'Deployment' || o.kind === 'Job')
      .map((o: any) => ({ name: o.metadata.name as string, spec: o.spec.template.spec }));

  it('mounts the CA Secret read-only in every service and the setup job, and names the files Kafka and Redis trust', async () => {
    const { objects } = await renderRegion('us-east', [
      ...['--set', 'tls.caSecret=parley-ca', '--set', 'tls.kafkaCaKey=kafka.pem'],
      ...['--set', 'tls.redisCaKey=redis.pem'],
    ]);
    const pods = containers(objects).filter((p) => !p.name.includes('local-stt'));
    expect(pods.map((p) => p.name)).toEqual(
      expect.arrayContaining(['parley-gateway', 'parley-chat', 'parley-hitl']),
    );
    for (const { name, spec } of pods.filter((p) => !/backup|integrity|test/.test(p.name))) {
      expect(spec.volumes, name).toContainEqual({
        name: 'ca',
        secret: { secretName: 'parley-ca', defaultMode: 0o444 },
      });
      const container = spec.containers[0];
      expect(container.volumeMounts, name).toContainEqual({
        name: 'ca',
        mountPath: '/etc/parley/ca',
        readOnly: true,
      });
      expect(container.env, name).toContainEqual({
        name: 'PARLEY_KAFKA_CA_FILE',
        value: '/etc/parley/ca/kafka.pem',
      });
      expect(container.env, name).toContainEqual({
        name: 'PARLEY_REDIS_CA_FILE',
        value: '/etc/parley/ca/redis.pem',
      });
    }
    for (const o of objects) await validateObject(o);
  });

  it('mounts nothing without a CA Secret, takes the SASL password from the Secret, and leaves topics to the setup job', async () => {
    const { objects } = await renderRegion('us-east');
    for (const { name, spec } of containers(objects)) {
      expect(spec.volumes ?? [], name).not.toContainEqual(expect.objectContaining({ name: 'ca' }));
      expect(JSON.stringify(spec), name).not.toContain('PARLEY_KAFKA_CA_FILE');
    }
    const gateway = containers(objects).find((p) => p.name === 'parley-gateway')!;
    expect(gateway.spec.containers[0].env).toContainEqual({
      name: 'PARLEY_KAFKA_SASL_PASSWORD',
      valueFrom: {
        secretKeyRef: { name: 'parley-secrets', key: 'PARLEY_KAFKA_SASL_PASSWORD', optional: true },
      },
    });
    const config = find(objects, 'ConfigMap', 'parley-config') as any;
    expect(config.data.PARLEY_KAFKA_CREATE_TOPICS).toBe('false');
    const setup = containers(objects).find((p) => p.name.startsWith('parley-setup'))!;
    expect(setup.spec.containers[0].env).toContainEqual({
      name: 'PARLEY_PG_MIGRATE_URL',
      valueFrom: {
        secretKeyRef: { name: 'parley-secrets', key: 'PARLEY_PG_MIGRATE_URL', optional: true },
      },
    });
  });

  it('refuses a CA key that is not a file name', async () => {
    await expect(
      renderRegion('us-east', ['--set', 'tls.kafkaCaKey=../etc/passwd']),
    ).rejects.toThrow(/kafkaCaKey/);
  });
});
