import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** axe-core's browser bundle, injected into pages under test. */
const AXE_SOURCE = readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
);

/** What a page needs for {@link axeViolations} (a playwright-core `Page`). */
export interface EvaluatingPage {
  evaluate<R>(expression: string): Promise<R>;
}

/** One accessibility rule a page breaks, with the elements that break it. */
export interface AxeViolation {
  id: string;
  impact: string;
  help: string;
  targets: string[];
}

interface AxeResult {
  violations: Array<{
    id: string;
    impact: string | null;
    help: string;
    nodes: Array<{ target: string[] }>;
  }>;
}

/**
 * Runs axe-core (the standard accessibility engine) on the page as it is now
 * and returns the violations of the given impacts (critical and serious by
 * default). Injected through the DevTools protocol, so a page's content
 * security policy does not stop it.
 */
export async function axeViolations(
  page: EvaluatingPage,
  impacts: readonly string[] = ['critical', 'serious'],
): Promise<AxeViolation[]> {
  await page.evaluate(`${AXE_SOURCE}\n;void 0`);
  const result = await page.evaluate<AxeResult>(
    `window.axe.run(document, { resultTypes: ['violations'] })`,
  );
  return result.violations
    .filter((v) => v.impact !== null && impacts.includes(v.impact))
    .map((v) => ({
      id: v.id,
      impact: v.impact!,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(' ')),
    }));
}
