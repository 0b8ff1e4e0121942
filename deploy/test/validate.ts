import type { K8sObject } from './tools.js';

/** A kubernetes-models class: validates an object against the Kubernetes API schema. */
type Model = (new (data: object) => { validate(): void }) & {
  prototype: { validate(this: object): void };
};

/**
 * The fields of `object` the schema's validator never looked at: fields the
 * API does not know (`livenesProbe`, `averageUtilisation`). kubernetes-models'
 * compiled validators read every property their schema defines, and every key
 * of a map (labels, data), but allow any other: run it on a proxy that
 * records each read, then name the keys nobody read. The API server drops
 * such fields silently (or refuses them with kubectl's strict field
 * validation), so a misspelt probe or target would vanish without an error.
 */
function unknownFields(object: K8sObject, ModelClass: Model): string[] {
  const read = new WeakMap<object, Set<string>>();
  const track = (value: unknown): unknown => {
    if (value === null || typeof value !== 'object') return value;
    if (!read.has(value)) read.set(value, new Set());
    return new Proxy(value, {
      get(target, key, receiver) {
        if (typeof key === 'string') read.get(target)!.add(key);
        return track(Reflect.get(target, key, receiver));
      },
    });
  };
  const copy = structuredClone(object);
  ModelClass.prototype.validate.call(track(copy) as object);
  const unknown: string[] = [];
  const walk = (node: unknown, path: string) => {
    if (Array.isArray(node)) node.forEach((v, i) => walk(v, `${path}[${i}]`));
    else if (node !== null && typeof node === 'object')
      for (const [key, value] of Object.entries(node)) {
        if (read.get(node)?.has(key)) walk(value, `${path}.${key}`);
        else unknown.push(`${path}.${key}`);
      }
  };
  walk(copy, '');
  return unknown;
}

/**
 * Validates an object against the Kubernetes API schemas of its apiVersion
 * and kind (kubernetes-models; Prometheus Operator kinds from
 * @kubernetes-models/prometheus-operator), strictly: a field the schema does
 * not define fails too, like kubeconform -strict. Throws naming the object
 * and the first problem; an apiVersion or kind with no schema is an error too.
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
  const unknown = unknownFields(object, ModelClass);
  if (unknown.length > 0)
    throw new Error(
      `${object.kind}/${object.metadata.name}: unknown field ${unknown.join(', unknown field ')}`,
    );
}

type Selector = {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
};

/** Whether a label selector (matchLabels and matchExpressions) selects `labels`. */
export function selects(selector: Selector, labels: Record<string, string> = {}): boolean {
  return (
    Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v) &&
    (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
      if (operator === 'In') return key in labels && values.includes(labels[key]!);
      if (operator === 'NotIn') return !(key in labels) || !values.includes(labels[key]!);
      if (operator === 'Exists') return key in labels;
      if (operator === 'DoesNotExist') return !(key in labels);
      throw new Error(`unknown selector operator ${operator}`);
    })
  );
}

/** The pod template labels of every workload a render has, by kind/name (a bare Pod: its own). */
export function workloadPods(objects: K8sObject[]): Map<string, Record<string, string>> {
  const pods = new Map<string, Record<string, string>>();
  for (const o of objects) {
    const key = `${o.kind}/${o.metadata.name}`;
    if (['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'].includes(o.kind))
      pods.set(key, o.spec.template.metadata?.labels ?? {});
    else if (o.kind === 'CronJob')
      pods.set(key, o.spec.jobTemplate.spec.template.metadata?.labels ?? {});
    else if (o.kind === 'Pod') pods.set(key, o.metadata.labels ?? {});
  }
  return pods;
}

/**
 * Selectors that select no rendered pods: every PodDisruptionBudget's and
 * Service's must select some workload's pods, every workload's its own
 * template, and every HorizontalPodAutoscaler must target a rendered
 * workload (whose selector then holds). A typo here leaves a Service
 * without endpoints or a budget guarding nothing, and the API accepts both.
 */
export function selectorProblems(objects: K8sObject[]): string[] {
  const pods = workloadPods(objects);
  const problems: string[] = [];
  const anyPod = (selector: Selector) => [...pods.values()].some((l) => selects(selector, l));
  for (const o of objects) {
    const key = `${o.kind}/${o.metadata.name}`;
    if (o.kind === 'PodDisruptionBudget' && !anyPod(o.spec.selector))
      problems.push(`${key}: its selector matches no rendered pod`);
    if (o.kind === 'Service' && o.spec.selector && !anyPod({ matchLabels: o.spec.selector }))
      problems.push(`${key}: its selector matches no rendered pod`);
    if (o.kind === 'HorizontalPodAutoscaler') {
      const { kind, name } = o.spec.scaleTargetRef;
      if (!pods.has(`${kind}/${name}`))
        problems.push(`${key}: no rendered ${kind}/${name} to scale`);
    }
    if (['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'].includes(o.kind)) {
      if (!selects(o.spec.selector, pods.get(key)))
        problems.push(`${key}: its selector does not match its own pod template`);
    }
  }
  return problems;
}
