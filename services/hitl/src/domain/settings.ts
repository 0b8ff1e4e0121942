// The settings' schema is shared with the tenant admin API (@parley/contracts).
export {
  ASSIGNMENT_STRATEGIES,
  hitlSettingsSchema,
  queueNameSchema,
  type AssignmentStrategy,
  type HitlSettings,
} from '@parley/contracts';
import type { HitlSettings } from '@parley/contracts';

/** The queue a handoff triggered by `text` waits in: the first route one of whose words it mentions. */
export function queueFor(settings: HitlSettings, text: string): string {
  const lowered = text.toLowerCase();
  const route = settings.routes?.find((r) =>
    r.keywords.some((k) => lowered.includes(k.toLowerCase())),
  );
  return route?.queue ?? 'general';
}
