/** One scoring rule: a phrase (matched on word boundaries, case-insensitive) and its points. */
export interface EmergencyRule {
  phrase: string;
  points: number;
}

/**
 * One life-safety rule: a named pattern (a regular expression over the
 * message lower-cased, accents removed, apostrophes straightened) that makes a
 * message an emergency whatever its score. Patterns are bounded (no nested
 * repetition), so a message is still scanned in linear time.
 */
export interface LifeSafetyRule {
  name: string;
  pattern: string;
}

/** A scored signal: a named pattern like a {@link LifeSafetyRule}'s, worth `points`. */
export interface EmergencySignal extends LifeSafetyRule {
  points: number;
}

/** The rule groups of the design documents (seed 004) and the threshold. */
export interface EmergencyRules {
  /** Life safety (fire, gas, injury, medical, threats, self-harm): any match is an emergency. */
  lifeSafety: LifeSafetyRule[];
  /** Business impact and IT incidents, phrased more freely than `keywords`. */
  signals: EmergencySignal[];
  /** Incident words: server down, hacked, virus, ... */
  keywords: EmergencyRule[];
  /** Business impact: losing money, production stopped, ... */
  businessImpact: EmergencyRule[];
  /** Urgency: urgent, critical, emergency, ... */
  urgency: EmergencyRule[];
  /** Points at or above which a message is an emergency. @default 40 */
  threshold: number;
}

/**
 * The life-safety baseline, in English, German, French and Spanish: what no
 * tenant rule may take away. Each alternative is matched on word boundaries
 * in the message lower-cased, accents removed and apostrophes straightened;
 * `~` stands for up to four words in between ("smoke is coming", "set the
 * curtains on fire"). Written for the way people type in a panic, and against
 * look-alikes ("this deal is fire", "killer prices", "smoke detector").
 */
export const LIFE_SAFETY_RULES: LifeSafetyRule[] = [
  {
    name: 'fire',
    pattern: [
      'on fire',
      'caught fire',
      'catching fire',
      'set ~on fire',
      'in flames',
      'flames',
      'is burning',
      'are burning',
      'burning plastic smell',
      "there'?s (?:a )?fire",
      'fire in (?:the|our|my)',
      'fire is spreading',
      'house fire',
      'fire brigade',
      'fire department',
      'firefighters',
      'brennt',
      'in flammen',
      'flammen',
      'feuerwehr',
      'feuer (?:im|in|ausgebrochen)',
      'qualmt',
      'en feu',
      'au feu',
      'pris feu',
      'incendie',
      'flammes',
      'pompiers',
      'en llamas',
      'incendi\\w*',
      'fuego',
      'se esta quemando',
      'bomberos',
    ].join('|'),
  },
  {
    name: 'smoke',
    pattern: [
      'smoke ~(?:coming|pouring|filling|everywhere|out of)',
      "(?:is|are|started|it'?s) smoking",
      'smoking and',
      '(?:smoke|co) (?:alarm|detector) ~(?:going off|beeping)',
      'voller rauch',
      'rauch (?:kommt|quillt)',
      'fumee partout',
      'de la fumee ~(?:sort|partout)',
      'pleine? de fumee',
      'humo por toda',
      'sale humo',
      'lleno de humo',
      'hay humo',
    ].join('|'),
  },
  {
    name: 'gas',
    pattern: [
      'smell(?:s|ing)? ~gas',
      'gas leak',
      'leaking gas',
      'gas is leaking',
      '(?:carbon monoxide|co) (?:alarm|detector|monitor) ~(?:going off|beeping|sounding)',
      'nach gas',
      'gasgeruch',
      'gasleck',
      'gas tritt',
      '(?:kohlenmonoxid\\w*|co-melder) ~(?:schlagt alarm|piept)',
      'sent (?:le|du) gaz',
      'odeur de gaz',
      'fuite de gaz',
      'monoxyde ~sonne',
      'huele ~a gas',
      'olor a gas',
      'fuga de gas',
      'monoxido ~suena',
      'suena la alarma de monoxido',
    ].join('|'),
  },
  {
    name: 'breathing or consciousness',
    pattern: [
      'not breathing',
      "isn'?t breathing",
      'stopped breathing',
      "can'?t breathe",
      'cannot breathe',
      'barely breathe',
      'struggling to breathe',
      'unconscious',
      'unresponsive',
      'not responding',
      "isn'?t responding",
      'not moving',
      "isn'?t moving",
      "won'?t wake",
      'wont wake',
      'collapsed',
      'passed out',
      'fainted',
      'seizure',
      "won'?t respond",
      'wont respond',
      "doesn'?t respond",
      "can'?t get up",
      'vomiting',
      'throwing up',
      'wheezing',
      'erbricht',
      'kommt nicht mehr hoch',
      'ne peut plus se relever',
      'vomit',
      'cuesta respirar',
      'no puede levantarse',
      'vomitando',
      'choking',
      'turning blue',
      'atmet nicht',
      'atmet kaum',
      'keine luft',
      'kaum noch luft',
      'bewusstlos',
      'reagiert nicht',
      'umgekippt',
      'zusammengebrochen',
      'ohnmachtig',
      'krampfanfall',
      'lauft blau',
      'verschluckt',
      'ne respire',
      'respire mal',
      'inconscient',
      'effondre',
      'evanoui',
      'ne se reveille',
      's.etouffe',
      'malaise',
      'no respira',
      'inconsciente',
      'se desmayo',
      'desplomo',
      'no despierta',
      'ahogando',
    ].join('|'),
  },
  {
    name: 'injury',
    pattern: [
      'bleeding(?! control)',
      '(?:got|was|is|been) burned',
      'blood everywhere',
      'so much blood',
      'lots of blood',
      'severe burns?',
      'burns? ~(?:over|on (?:his|her|my))',
      'burned (?:badly|his|her|my)',
      'badly burned',
      'scalded',
      'electric shock',
      'electrocuted',
      'got (?:a )?(?:massive |big |bad |huge )?shock',
      'fell (?:down|from|off)',
      'is hurt',
      'badly hurt',
      'injured',
      'deep cut',
      'huge cut',
      'blutet',
      'blut',
      'verbrennungen',
      'verbrannt',
      'verbruht',
      'stromschlag',
      'gesturzt',
      'saigne',
      'sang',
      'brulee?s?',
      'brulure',
      'brulures',
      'decharge',
      'electrocute',
      'blesse',
      'sangra',
      'sangre',
      'quemaduras',
      'quemado',
      'descarga',
      'electrocut\\w*',
      'se cayo',
      'herido',
    ].join('|'),
  },
  {
    name: 'medical',
    pattern: [
      "(?:having|had|is having|think (?:it'?s|its|he'?s having|she'?s having)) a heart attack",
      'chest pains?',
      'chest hurts',
      'crushing chest',
      "(?:a|having a|its a|it'?s a) stroke",
      'overdose',
      'allergic reaction',
      'anaphyla\\w*',
      'throat ~closing',
      'swelling up',
      '(?:swallowed|drank|ate|bit into|chewed) ~(?:battery|batteries|pod|pods|detergent|bleach|poison|pills|cleaner|oil|chemicals?|powder)',
      'poisoned',
      'herzinfarkt',
      'brustschmerzen',
      'schlaganfall',
      'allergische\\w* (?:schock|reaktion)',
      'schwillt',
      'vergiftet',
      'crise cardiaque',
      'douleur ~poitrine',
      'avc',
      'reaction allergique',
      'gonfle',
      'avale',
      'a bu',
      'intoxique',
      'infarto',
      'ataque al corazon',
      'dolor ~pecho',
      'derrame',
      'reaccion alergica',
      'se (?:le )?hincha',
      'se trago',
      'bebio',
      'envenenad\\w*',
    ].join('|'),
  },
  {
    name: 'threat or violence',
    pattern: [
      'kill (?:me|us|him|her|you|them)',
      'threaten\\w* ~(?:kill|hurt|stab|shoot|burn|me)',
      'with a (?:knife|gun|machete|weapon)',
      '(?:has|had|pulled|got) a (?:knife|gun|machete|weapon|bomb)',
      'bomb (?:in|threat)',
      'attacking',
      'being attacked',
      'stabbed',
      'shooting',
      'hostage',
      'umbringen',
      'umzubringen',
      'abstechen',
      'erschiessen',
      'bedroht',
      'droht',
      'messer',
      'waffe',
      'pistole',
      'tuer',
      'couteau',
      'arme',
      'pistolet',
      'menace\\w*',
      'matar\\w*',
      'cuchillo',
      'pistola',
      'arma',
      'amenaz\\w*',
    ].join('|'),
  },
  {
    name: 'self-harm',
    pattern: [
      'kill myself',
      'end my life',
      'end it (?:all|tonight|today)',
      'going to end it',
      'take my (?:own )?life',
      'suicid\\w*(?! squad)',
      "don'?t want to live",
      'do not want to live',
      'want to die',
      'hurt myself',
      'cut myself',
      'on the bridge',
      'on the roof',
      'nicht mehr leben',
      'mich umbringen',
      'selbstmord',
      'springe gleich',
      'en finir',
      'envie de mourir',
      'me suicider',
      'quitar la vida',
      'no quiero vivir',
      'suicidarme',
    ].join('|'),
  },
  {
    name: 'call emergency services',
    pattern: [
      'call (?:an |the )?(?:ambulance|police|911|999|112|emergency services|fire brigade)',
      'send (?:an )?(?:ambulance|help|police)',
      'need an ambulance',
      '(?:call|dial) 911',
      'krankenwagen',
      'notarzt',
      'rettungsdienst',
      'rettungswagen',
      'polizei (?:rufen|holen)',
      'rufen sie (?:die )?(?:112|polizei)',
      "(?:une|l')ambulance",
      'samu',
      'appelez (?:la police|le 1[578]|les pompiers)',
      'ambulancia',
      'llamen a (?:la policia|emergencias|los bomberos)',
      'llamen al (?:112|911)',
    ].join('|'),
  },
];

/**
 * Scored signals of business impact and IT incidents, matched like the
 * life-safety patterns (`~`: up to four words): each counts once, with its points.
 */
export const EMERGENCY_SIGNALS: EmergencySignal[] = [
  {
    name: 'production stopped',
    points: 40,
    pattern: [
      'production(?: line)? ~(?:stopped|halted|down|standing still)',
      'production halted',
      '(?:full )?line stoppage',
      'produktion\\w* steht',
      'chaine de production ~arret',
      'linea de produccion ~parada',
    ].join('|'),
  },
  {
    name: 'losing money now',
    points: 40,
    pattern: [
      'losing (?:\\w+ ){0,2}(?:money|thousands|sales|customers|revenue|stock)',
      '(?:lost|losing) (?:around |about )?[$€£]?\\d+k? ~(?:in sales|already)',
      'costs? us (?:[$€£]?\\d|thousands)',
      'burning money',
      'kostet uns',
      'perdemos',
      'on perd',
      'tausende euro',
      "milliers d'?euros",
      'miles de euros',
      'will spoil',
    ].join('|'),
  },
  {
    name: 'payments or orders blocked',
    points: 40,
    pattern: [
      "(?:can'?t|cannot|unable to|no longer|nobody can|none of ~can) ~(?:take|process|accept) ~(?:payments?|orders)",
      '(?:declines?|failing|fails) ~(?:all|every|100%)',
      'every (?:single )?order ~(?:failing|fails|is failing)',
      'keine kartenzahlungen',
      'aucun paiement',
      'puede cobrar',
      'no podemos cobrar',
      'charged \\d+ times',
    ].join('|'),
  },
  {
    name: 'everyone blocked',
    points: 40,
    pattern: [
      '(?:nobody|no one) (?:can|is able to) ~(?:log in|sign in|access|work|scan|get in)',
      "(?:whole|entire|all) (?:\\w+ ){0,2}(?:team|office|staff|company|employees) ~(?:locked out|can'?t|cannot|no access|has no access)",
      "(?:all|every|none of) (?:\\w+ ){0,3}(?:terminals|tills|kiosks|card readers|registers|scanners|stores|branches|check-in terminals|drivers'? apps) ~(?:offline|down|froze|frozen|crashed|stuck|stopped|can|can'?t)",
      "\\d+ (?:employees|agents|workers|guests) ~(?:can'?t|cannot|waiting|standing)",
      'bloqueado fuera',
      'komplett ausgefallen',
    ].join('|'),
  },
  {
    name: 'operations stopped',
    points: 40,
    pattern: [
      'standing still',
      'at a standstill',
      'turning customers away',
      'sending people away',
      'had to close',
      'basically closed',
      'nothing is (?:shipping|going out)',
      'orders (?:are )?stuck',
      'calls are dropping',
      'queues out the door',
      'operations are halted',
      'completely blocked',
      'cash only',
      'entire app is offline',
      'is still going on',
      'still happening',
      "it'?s still going",
      '(?:kickoff|launch) in \\d',
      'trucks waiting',
      "can'?t produce",
      'no podemos atender',
      'keine kunden mehr bedienen',
      "can'?t serve any",
      "can'?t answer a single",
      'reached fulfillment',
      'taking any reservations',
      'our store is down',
      'for free right now',
      "c'est la catastrophe",
    ].join('|'),
  },
  {
    name: 'security incident',
    points: 40,
    pattern: [
      'hacked',
      'hacker',
      'defaced',
      'ddos',
      'phishing',
      '(?:someone|somebody) (?:is|got|has got) (?:inside|into|in) ~(?:account|system)',
      'someone is (?:inside|logging in|draining|using)',
      'taken over',
      'credentials ~(?:leaked|stolen)',
      '(?:keys|passwords?|credentials) ~(?:leaked|public|exposed|pushed)',
      'unauthori[sz]ed (?:orders|access|logins?|charges|transactions)',
      'compromised',
      'revoke all',
      'can see other (?:people|customers)',
      "new admin user we don'?t know",
      'login alerts from',
      "calls we didn'?t make",
      'gehackt',
      'pirate',
      'hackeado|hackearon',
    ].join('|'),
  },
  {
    name: 'outage for everyone',
    points: 40,
    pattern: [
      "(?:site|server|app|platform|login page|store|website|shop) ~(?:is down|down for|won'?t load|unreachable|falling over)",
      'total outage',
      'down for (?:everyone|all)',
      'not for anyone',
      'returning 500 for all',
      'servers are falling over',
      '(?:broken|down|failing) for (?:every|all|everyone)',
      'en panne pour tout le monde',
      'caida para todos',
      'ausgefallen fur alle',
    ].join('|'),
  },
];

/** What `~` stands for in a life-safety pattern: up to four words in between. */
const GAP = "(?:[\\p{L}\\p{N}'-]+\\s+){0,4}";

/** Words saying a danger is over or was never real. */
const RESOLVED =
  /\b(?:just kidding|jk|all gone now|(?:it'?s|is|everything is|all) (?:fine|ok|okay) now|(?:nobody|no one) (?:was|got) (?:hurt|injured))\b/u;

function compile(rule: LifeSafetyRule): RegExp {
  return new RegExp(
    `(?<![\\p{L}\\p{N}])(?:${rule.pattern.replaceAll('~', GAP)})(?![\\p{L}\\p{N}])`,
    'u',
  );
}

/** The default rules; tenants may extend them. */
export const DEFAULT_EMERGENCY_RULES: EmergencyRules = {
  lifeSafety: LIFE_SAFETY_RULES,
  signals: EMERGENCY_SIGNALS,
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
  private readonly lifeSafety: Array<{ name: string; pattern: RegExp }>;
  private readonly signals: Array<{ name: string; pattern: RegExp; points: number }>;

  constructor(private readonly rules: EmergencyRules = DEFAULT_EMERGENCY_RULES) {
    this.lifeSafety = rules.lifeSafety.map((rule) => ({ name: rule.name, pattern: compile(rule) }));
    this.signals = rules.signals.map((rule) => ({ ...rule, pattern: compile(rule) }));
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
    // Life safety first: any rule makes it an emergency, whatever the points.
    const plain = sample
      .normalize('NFKD')
      .replace(/\p{M}/gu, '')
      .toLowerCase()
      .replace(/[’`´]/g, "'");
    // "...just kidding", "all gone now": not a danger any more.
    if (!RESOLVED.test(plain))
      for (const rule of this.lifeSafety)
        if (rule.pattern.test(plain)) matched.add(`life safety: ${rule.name}`);
    const lifeSafety = matched.size > 0;
    let signalPoints = 0;
    for (const signal of lifeSafety || RESOLVED.test(plain) ? [] : this.signals)
      if (signal.pattern.test(plain)) {
        matched.add(signal.name);
        signalPoints += signal.points;
      }
    for (const m of sample.matchAll(this.pattern))
      matched.add(m[0].toLowerCase().replace(/\s+/g, ' '));
    let score = signalPoints;
    for (const phrase of matched) score += this.points.get(phrase) ?? 0;
    if (/!{3,}/.test(sample)) score += 5;
    const letters = sample.replace(/[^\p{L}]/gu, '');
    if (letters.length >= 12 && letters.replace(/[^\p{Lu}]/gu, '').length / letters.length > 0.7)
      score += 5;
    if (lifeSafety) score = Math.max(score, this.rules.threshold);
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
