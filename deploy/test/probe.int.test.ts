/* eslint-disable @typescript-eslint/no-explicit-any -- the checks walk rendered YAML, which has no static type; validateObject checks it against the Kubernetes schemas. */
import { describe, expect, it } from 'vitest';
import { renderRegion, type K8sObject } from './tools.js';
import { validateObject } from './validate.js';

/** The synthetic chat probe's CronJob (helm/templates/probe.yaml). */
const ON = [
  '--set',
  'probe.enabled=true',
  '--set',
  'probe.widgetKey=pk_probe',
  '--set',
  'probe.origin=https://status.example.com',
  '--set',
  'probe.expect=Monday to Friday',
  '--set',
  'probe.pushgateway=http://pushgateway.monitoring:9091',
];
const probeObjects = (objects: K8sObject[]) =>
  objects.filter((o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'probe');

describe('the synthetic probe in the chart', () => {
  it('renders nothing until enabled, and nothing in the cold standby', async () => {
    expect(probeObjects((await renderRegion('us-east')).objects)).toEqual([]);
    expect(probeObjects((await renderRegion('us-west-dr', ON)).objects)).toEqual([]);
  });

  it('runs parley-probe from the gateway image every minute, one run at a time, within a deadline', async () => {
    const { objects, text } = await renderRegion('eu-west', ON);
    const rendered = probeObjects(objects);
    for (const object of rendered) await validateObject(object);
    const job = rendered.find((o) => o.kind === 'CronJob' && o.metadata.name === 'parley-probe')!;
    expect(job.spec).toMatchObject({ schedule: '*/1 * * * *', concurrencyPolicy: 'Forbid' });
    expect(job.spec.jobTemplate.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 50 });
    const pod = job.spec.jobTemplate.spec.template.spec;
    expect(pod).toMatchObject({ restartPolicy: 'Never', automountServiceAccountToken: false });
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    const [container] = pod.containers;
    expect(container.image).toMatch(/\/parley-gateway:/);
    expect(container.args).toEqual([
      'node_modules/@parley/probe/dist/cli.js',
      '--url',
      'http://parley-gateway:8080',
      '--widget-key',
      'pk_probe',
      '--origin',
      'https://status.example.com',
      '--question',
      'What are your opening hours?',
      '--expect',
      'Monday to Friday',
      '--timeout-ms',
      '30000',
      '--interval-seconds',
      '60',
      '--pushgateway',
      'http://pushgateway.monitoring:9091',
    ]);
    // The operators' token comes from the Secret, by name; no value in the chart.
    expect(container.env).toEqual([
      {
        name: 'PARLEY_ADMIN_TOKEN',
        valueFrom: {
          secretKeyRef: { name: 'parley-secrets', key: 'PARLEY_ADMIN_TOKEN', optional: true },
        },
      },
    ]);
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(text).not.toMatch(/operator-token|Bearer /);
  });

  it('lets the probe reach the gateway and the Pushgateway only, and the gateway admit it', async () => {
    const policies = probeObjects((await renderRegion('us-east', ON)).objects).filter(
      (o) => o.kind === 'NetworkPolicy',
    );
    const probe = policies.find((p) => p.metadata.name === 'parley-probe')!;
    expect(probe.spec.ingress).toEqual([]);
    expect(probe.spec.egress.map((rule: any) => rule.ports[0].port)).toEqual([8080, 9091]);
    expect(probe.spec.egress[0].to[0].podSelector.matchLabels['app.kubernetes.io/component']).toBe(
      'gateway',
    );
    const gateway = policies.find((p) => p.metadata.name === 'parley-gateway-from-probe')!;
    expect(gateway.spec.podSelector.matchLabels['app.kubernetes.io/component']).toBe('gateway');
    expect(
      gateway.spec.ingress[0].from[0].podSelector.matchLabels['app.kubernetes.io/component'],
    ).toBe('probe');
  });

  it('refuses to render without the probe tenant', async () => {
    await expect(renderRegion('us-east', ['--set', 'probe.enabled=true'])).rejects.toThrow(
      /probe\.widgetKey/,
    );
  });
});
