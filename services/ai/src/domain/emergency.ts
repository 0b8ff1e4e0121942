/** One scoring rule: a phrase (matched on word boundaries, case-insensitive) and its points. */
export interface EmergencyRule {
  phrase: string;
  points: number;
}

/** The rule groups of the design documents (seed 004) and the threshold. */
export interface EmergencyRules {
  /** Incident words: server down, hacked, virus, ... */
  keywords: EmergencyRule[];
  /** Business impact: losing money, production stopped, ... */
  businessImpact: EmergencyRule[];
  /** Urgency: urgent, critical, emergency, ... */
  urgency: EmergencyRule[];
  /** Points at or above which a message is an emergency. @default 40 */
  threshold: number;
}

/** The default rules; tenants may extend them. */
export const DEFAULT_EMERGENCY_RULES: EmergencyRules = {
  keywords: [
    { phrase: 'server down', points: 30 },
    { phrase: 'servers are down', points: 30 },
    { phrase: 'server is down', points: 30 },
    { phrase: 'site down', points: 30 },
    { phrase: 'website down', points: 30 },
    { phrase: 'website is down', points: 30 },
    { phrase: 'site is down', points: 30 },
    { phrase: 'outage', points: 25 },
    { phrase: 'hacked', points: 35 },
    { phrase: 'virus', points: 25 },
    { phrase: 'malware', points: 25 },
    { phrase: 'ransomware', points: 40 },
    { phrase: 'data breach', points: 40 },
    { phrase: 'breach', points: 25 },
    { phrase: 'data loss', points: 30 },
    { phrase: 'lost all', points: 20 },
    { phrase: 'security incident', points: 35 },
    { phrase: 'fraud', points: 25 },
    { phrase: 'stolen', points: 20 },
  ],
  businessImpact: [
    { phrase: 'losing money', points: 25 },
    { phrase: 'losing customers', points: 25 },
    { phrase: 'production stopped', points: 30 },
    { phrase: 'production is down', points: 30 },
    { phrase: 'production down', points: 30 },
    { phrase: 'cannot process orders', points: 25 },
    { phrase: "can't process orders", points: 25 },
    { phrase: 'customers cannot', points: 15 },
    { phrase: "customers can't", points: 15 },
    { phrase: 'revenue', points: 10 },
    { phrase: 'all users', points: 10 },
  ],
  urgency: [
    { phrase: 'emergency', points: 25 },
    { phrase: 'urgent', points: 15 },
    { phrase: 'urgently', points: 15 },
    { phrase: 'critical', points: 15 },
    { phrase: 'asap', points: 10 },
    { phrase: 'immediately', points: 10 },
    { phrase: 'right now', points: 10 },
  ],
  threshold: 40,
};

/** The outcome for one message. */
export interface EmergencyScore {
  score: number;
  emergency: boolean;
  /** The phrases that matched (for the incident log; no user text). */
  matched: string[];
}

function escape(phrase: string): string {
  return phrase.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+');
}

/**
 * Scores messages for emergencies before any model is called: each rule
 * counts once, three or more `!` add 5, a shouted message (mostly capitals)
 * adds 5. All phrases are compiled into one regular expression, so a message
 * is scanned once (microseconds; the seed's budget is 150 ms).
 */
export class EmergencyDetector {
  private readonly pattern: RegExp;
  private readonly points = new Map<string, number>();

  constructor(private readonly rules: EmergencyRules = DEFAULT_EMERGENCY_RULES) {
    const all = [...rules.keywords, ...rules.businessImpact, ...rules.urgency];
    for (const rule of all)
      this.points.set(rule.phrase.toLowerCase().replace(/\s+/g, ' '), rule.points);
    const alternatives = [...this.points.keys()].sort((a, b) => b.length - a.length).map(escape);
    this.pattern = new RegExp(
      `(?<![\\p{L}\\p{N}])(?:${alternatives.join('|')})(?![\\p{L}\\p{N}])`,
      'giu',
    );
  }

  score(text: string): EmergencyScore {
    const sample = text.length > 4_000 ? text.slice(0, 4_000) : text;
    const matched = new Set<string>();
    for (const m of sample.matchAll(this.pattern))
      matched.add(m[0].toLowerCase().replace(/\s+/g, ' '));
    let score = 0;
    for (const phrase of matched) score += this.points.get(phrase) ?? 0;
    if (/!{3,}/.test(sample)) score += 5;
    const letters = sample.replace(/[^\p{L}]/gu, '');
    if (letters.length >= 12 && letters.replace(/[^\p{Lu}]/gu, '').length / letters.length > 0.7)
      score += 5;
    return { score, emergency: score >= this.rules.threshold, matched: [...matched] };
  }
}

/** A short, unique, speakable ticket id: `EMG-20261125-7KQ2M9`. */
export function emergencyTicketId(now = new Date(), random = Math.random): string {
  const alphabet = '23456789ABCDEFGHJKLMNPQRSTUVWXYZ';
  let suffix = '';
  for (let i = 0; i < 6; i++) suffix += alphabet[Math.floor(random() * alphabet.length)];
  return `EMG-${now.toISOString().slice(0, 10).replaceAll('-', '')}-${suffix}`;
}

/** The answer an emergency gets, bypassing every model. */
export function emergencyAnswer(ticketId: string, contact: string): string {
  return (
    `This sounds urgent, so I am bringing in a person right away. Your emergency ticket is ${ticketId}. ` +
    `For immediate help contact ${contact}.`
  );
}
