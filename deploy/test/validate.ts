import type { K8sObject } from './tools.js';

/** A kubernetes-models class: validates an object against the Kubernetes API schema. */
type Model = new (data: object) => { validate(): void };

/**
 * Validates an object against the Kubernetes API schemas of its apiVersion
 * and kind (kubernetes-models; Prometheus Operator kinds from
 * @kubernetes-models/prometheus-operator). Throws naming the object and the
 * first problem; an apiVersion or kind with no schema is an error too.
 */
export async function validateObject(object: K8sObject): Promise<void> {
  const [group, version] = object.apiVersion.includes('/')
    ? object.apiVersion.split('/')
    : ['', object.apiVersion];
  const module =
    group === 'monitoring.coreos.com'
      ? `@kubernetes-models/prometheus-operator/${group}/${version}`
      : `kubernetes-models/${group ? `${group}/` : ''}${version}`;
  const models = (await import(module).catch(() => ({}))) as Record<string, Model>;
  const ModelClass = models[object.kind];
  if (!ModelClass) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  try {
    new ModelClass(object).validate();
  } catch (err) {
    throw new Error(`${object.kind}/${object.metadata.name}: ${(err as Error).message}`);
  }
}
