import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

const run = promisify(execFile);

/** The repository's root. */
export const REPO = fileURLToPath(new URL('../../', import.meta.url));
/** The chart. */
export const CHART = `${REPO}helm`;
/** The regions, as their values files name them. */
export const REGIONS = ['us-east', 'eu-west', 'us-west-dr'] as const;
export type Region = (typeof REGIONS)[number];

/** A tool `scripts/infra tools` built (the test command exports where). */
type Tool = 'PARLEY_HELM' | 'PARLEY_KUSTOMIZE' | 'PARLEY_COMPOSE_CHECK' | 'PARLEY_ADAPTER_CHECK';

function tool(variable: Tool): string {
  const path = process.env[variable];
  if (!path)
    throw new Error(
      `${variable} is not set: run through scripts/test, or eval "$(scripts/infra tools)"`,
    );
  return path;
}

/** Runs a deploy tool; rejects with its stderr when it fails. */
export async function exec(which: Tool, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(tool(which), args, { maxBuffer: 64 * 1024 * 1024, cwd: REPO });
    return stdout;
  } catch (err) {
    const { stderr, message } = err as { stderr?: string; message: string };
    throw new Error(`${which} ${args.join(' ')} failed: ${stderr || message}`);
  }
}

/** A Kubernetes object as rendered (the fields the checks read). */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  data?: Record<string, string>;
  [field: string]: unknown;
}

/** Parses a multi-document YAML stream into objects (empty documents dropped). */
export function parseObjects(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors[0]!.message}`);
      return doc.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null && typeof o === 'object');
}

/** `helm template` of the chart with a region's values, as objects and as text. */
export async function renderRegion(
  region: Region,
  extra: string[] = [],
): Promise<{ text: string; objects: K8sObject[] }> {
  const text = await exec('PARLEY_HELM', [
    'template',
    'parley',
    CHART,
    '--namespace',
    'parley',
    '-f',
    `${CHART}/values-${region}.yaml`,
    ...extra,
  ]);
  return { text, objects: parseObjects(text) };
}
