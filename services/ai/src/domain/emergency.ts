import { EmergencyClassifier } from './emergency-classifier.js';

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
      'fire (?:started|broke out)',
      'exploded ~(?:face|hand|kitchen|everywhere|glass|shards|burn\\w*|hurt|bleeding)',
      '(?:an|big|loud) explosion (?:in|at|next)',
      'blew up (?:in|and|on)',
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
      'il y a (?:le |du )?feu',
      'le feu (?:dans|a|au|prend)',
      'feu dans (?:la|le|ma|mon|notre)',
      'incendie',
      'flammes',
      'pompiers',
      'en llamas',
      'incendi\\w*',
      'fuego',
      'se incendio',
      'se prendio',
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
      '(?:full of|thick|black) smoke',
      "can'?t see ~smoke",
      "smoke ~~(?:can'?t see|cannot see)",
    ].join('|'),
  },
  {
    name: 'gas',
    pattern: [
      'smell(?:s|ing)? ~gas',
      'gas leak',
      'gas ~(?:smell|odou?r)',
      'ca sent le gaz',
      'huele a gas',
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
      'dizzy and',
      'foaming at the mouth',
      'drooling and',
      'stumbling',
      '(?:really|very|so) (?:drowsy|sleepy|pale)',
      'went (?:grey|gray|white|pale)',
      'sweating and',
      'cold sweat',
      'sudando frio',
      'lips ~(?:blue|purple|grey|gray)',
      'atragant\\w*',
      'erstickt',
      'no (?:puede|puedo) respirar',
      'kann nicht (?:mehr )?atmen',
      'peu(?:t|x) (?:plus|pas) respirer',
      'no reacciona',
      'ne reagit (?:plus|pas)',
      'epilep\\w*',
      'convuls\\w*',
      'krampf\\w*',
      'fitting',
      'having a fit',
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
      'blister\\w*',
      'skin ~(?:peeling|coming off|bubbling|melting|is burnt|is burned)',
      '(?:boiling|hot) (?:water|oil|steam) ~(?:over|on|onto|into) (?:my|his|her|their|the baby|the child)',
      'broke (?:his|her|my|their) (?:arm|leg|wrist|ankle|hip|neck|back|nose|jaw)',
      'broken (?:arm|leg|wrist|ankle|hip|neck|back)',
      'bone ~sticking out',
      'hit (?:his|her|my|their) head',
      'head injury',
      '(?:wrist|arm|leg|head|back|hand|eye) is (?:hurt|broken|bleeding|swelling)',
      'hurt (?:badly|really bad|bad)',
      'trapped (?:under|in|inside)',
      'drowning(?! in (?:paperwork|cardboard|emails?|work|orders|boxes|debt|packaging|bills))',
      "blood ~(?:won'?t|wont|doesn'?t|does not|not) stop",
      'cut ~(?:very|really|so) deep',
      'very deep',
      'scalding',
      '(?:burst|sprayed|exploded) ~(?:scalding|boiling|hot)',
      'water ~~(?:sockets?|plugs?|fuse ?box|electrics|wiring|extension lead)',
      "(?:can'?t|cannot) get out",
      'still down there',
      'dio (?:la )?corriente',
      'calambre',
      'locked in (?:the|a|my) (?:hot )?car',
      'electric shock',
      'electrocuted',
      'spark(?:s|ing) ~(?:coming|flying|everywhere|out of|from)',
      'water ~~(?:on|onto|into|over|in|near) (?:the )?(?:fuse ?box|socket|outlet|electrics|wiring|plug|consumer unit|breaker)',
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
      'sich ~verbrannt',
      'verbrannt (?:am|an|die|den|das|sein|ihr)',
      'verbruht',
      'stromschlag',
      'funken ~(?:spruhen|fliegen|kommen)',
      'wasser ~(?:sicherungskasten|steckdose)',
      'gesturzt',
      'ertrinkt',
      'eingeklemmt',
      'kopf ~(?:angeschlagen|gestossen|aufgeschlagen)',
      'blasen',
      'saigne',
      'sang',
      "s'?est brule",
      'suis brule',
      'brulee?s? (?:au|a la|aux|sur|partout|gravement)',
      'brulure',
      'brulures',
      'decharge',
      'etincelles',
      'electrocute',
      'blesse',
      'ebouillant\\w*',
      'se noie',
      'coince sous',
      'cogne la tete',
      'tape la tete',
      'sangra',
      'sangre',
      'quemaduras',
      'se (?:ha )?quem\\w*',
      'quemad[oa] (?:el|la|los|las|su|mi|toda|todo)',
      'descarga',
      'chispas',
      'electrocut\\w*',
      'se cayo',
      'herido',
      'escald\\w*',
      'ampollas',
      'se ahoga',
      'atrapad[oa]',
      'golpeo la cabeza',
      'golpe en la cabeza',
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
      'slurr\\w*',
      'face ~drooping',
      'drooping',
      "can'?t (?:move|feel) (?:his|her|my|their|the) (?:arm|leg|face|side)",
      'going numb',
      "(?:can'?t|cannot|couldn'?t) (?:lift|raise|move|feel|hold)",
      'words (?:come|are coming) out (?:wrong|jumbled|weird|strange)',
      "(?:can'?t|cannot) (?:talk|speak) (?:properly|normally|straight|clearly)",
      'verwaschen',
      'mundwinkel',
      'gelahmt',
      'taub',
      'paralys\\w*',
      'paraliz\\w*',
      'parler normalement',
      'engourdi\\w*',
      'entumecid\\w*',
      'schmerzen in der brust',
      'duele ~pecho',
      'se (?:me |te |le )hincha',
      'empty (?:pill|medicine|tablet) (?:bottle|pack)',
      '(?:pills|tablets|medication|meds) ~~(?:bottle is empty|all gone|are gone|missing)',
      '(?:bit into|licked|swallowed|ate|chewed) ~(?:tablet|tablets|capsule|pod|descal\\w*|magnet)',
      '(?:too many|a whole (?:bottle|pack|box) of|all (?:my|his|her|the)) (?:pills|tablets|meds|medication|sleeping pills)',
      '(?:swallowed|drank|drunk|ate|eaten|licked|chewed|got into) ~(?:descaler|bleach|magnets?|medicine|tablets|cleaning|detergent|dishwasher|antifreeze|rat poison|button cell|coffee beans|chocolate|grapes|raisins|xylitol|weed killer)',
      'poison (?:control|centre|center)',
      'vet (?:now|asap|urgently|emergency)',
      'emergency vet',
      "can(?:no|')?t stop (?:shaking|vomiting|fitting)",
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
      'giftnotruf',
      'vergiftung',
      'lallt',
      'hangt herunter',
      '(?:getrunken|verschluckt|gegessen) ~(?:entkalker|putzmittel|batterie|tabletten|reiniger)',
      '(?:entkalker|putzmittel|batterie|tabletten|reiniger) ~(?:getrunken|verschluckt|gegessen)',
      'crise cardiaque',
      'douleur ~poitrine',
      'avc',
      'reaction allergique',
      'gonfle',
      'avale',
      'a bu',
      'intoxique',
      'antipoison',
      'empoisonne',
      'ne parle plus',
      'parle bizarrement',
      'infarto',
      'ataque al corazon',
      'dolor ~pecho',
      'derrame',
      'reaccion alergica',
      'se (?:le )?hincha',
      'se trago',
      'bebio',
      'envenenad\\w*',
      'intoxicad[oa]',
      'se comio',
      'toxicolog\\w*',
      'no puede hablar',
      'habla raro',
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
      '(?:hurt|harm|kill|take) (?:my|our|your|the) (?:kids|children|child|son|daughter|family|wife|husband|baby)',
      '(?:hits|hit|beats|beat|beating|punched|kicked|choked|strangled|shoved|pushed|grabbed|attacked|assaulted) me',
      'scared to go home',
      'afraid (?:for|of) my (?:life|safety)',
      "(?:scared|afraid|terrified) (?:he|she|they)(?:'ll| will| is going to) ~(?:hurt|kill|come back)",
      '(?:broke|broken|breaking) into (?:my|our|the) (?:house|home|flat|apartment)',
      'intruder',
      'burglar',
      '(?:someone|somebody|a man|a stranger) (?:is )?(?:in|inside) (?:my|our|the) (?:house|home|flat|apartment)',
      'still inside',
      'hitting me',
      '(?:is|are|keeps) (?:hitting|beating|choking|strangling)',
      "(?:i'?m|im|i am) hiding",
      'hiding in the (?:bathroom|wardrobe|closet|cupboard|attic|car)',
      'pegando',
      'golpeando',
      'escondid[oa]',
      'versteckt',
      'cachee? dans',
      'will hurt (?:them|him|her|you|us|me)',
      'know where (?:i|you|we|my|our) (?:live|kids|children|work)',
      'followed me',
      'parked outside',
      'staring (?:in|into|through) ~windows?',
      '(?:turning|showing) up at my (?:house|home|door|flat)',
      '(?:someone|somebody) (?:is )?downstairs',
      'hear (?:them|someone|somebody|footsteps|steps|voices) ~(?:downstairs|inside|in the house|going through)',
      'oigo pasos',
      'alguien (?:dentro|en) (?:de )?mi casa',
      'hay alguien dentro',
      'entre chez moi',
      'dans la maison',
      'smashed ~(?:window|door)',
      'colis suspect',
      'paquete sospechoso',
      'verdachtig\\w* paket',
      'tic tac',
      'fils qui depassent',
      'following me',
      'follows me',
      'stalk\\w*',
      'waiting outside my (?:house|home|door|flat)',
      'watching my (?:house|home|flat)',
      'ticking',
      'suspicious (?:package|parcel|box|device)',
      'white powder',
      'wires (?:sticking|coming) out',
      'umbringen',
      'umzubringen',
      'abstechen',
      'erschiessen',
      'bedroht',
      'schlagt mich',
      'verfolgt mich',
      'einbrecher',
      'eingebrochen',
      'tickt',
      'droht',
      'messer',
      'waffe',
      'pistole',
      'tuer',
      'couteau',
      'arme',
      'pistolet',
      'menace\\w*',
      'me frappe',
      'me suit',
      'cambrioleur',
      'quelqu.un (?:est )?(?:dans|chez) (?:ma|mon|nous)',
      'intrus',
      'agresse',
      'agressee?',
      'ma frappee?',
      'matar\\w*',
      'cuchillo',
      'pistola',
      'arma',
      'amenaz\\w*',
      'me pega',
      'me golpea',
      'me sigue',
      'ladron',
      'entraron (?:a|en) (?:mi|la) casa',
      'agredi\\w*',
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
      'no reason to live',
      "(?:don'?t|dont|do not) see the point",
      "can'?t go on",
      'cannot go on',
      'no point (?:in )?living',
      'my last message',
      'goodbye forever',
      'knife in my hand',
      '(?:pills|rope) (?:ready|in my hand)',
      'ne veux plus vivre',
      'kann nicht mehr weiter',
      'no puedo mas',
      'better off without me',
      "don'?t want to be (?:here|alive)",
      'ich will sterben',
      'je veux mourir',
      'me tuer',
      'quiero morir',
      'me quiero matar',
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
    name: 'danger described',
    pattern: [
      'alight',
      'glowing red',
      '(?:melting|glowing|sparking) ~(?:smoking|smoke|red)',
      'rauch uberall',
      'kann nicht raus',
      'ardiendo',
      'llamas (?:llegan|salen|por)',
      'rotten eggs',
      'hissing ~(?:pipe|cooker|gas|hob|oven)',
      'sent ~(?:le|du) gaz',
      'headaches? ~(?:sleepy|dizzy|drowsy)',
      '(?:sleepy|drowsy|dizzy) since ~(?:boiler|heater|heating|stove)',
      'mal a la tete et sommeil',
      'floppy',
      'eyes (?:are )?rolling',
      "(?:won'?t|wont|doesn'?t|not) answer(?:ing)? me",
      "on the (?:bathroom |kitchen |bedroom )?floor and (?:won'?t|wont|isn'?t|is not|not|can'?t)",
      'antwortet nicht',
      'ne repond plus',
      'no (?:me )?contesta',
      'bewegt sich nicht',
      'slid off',
      'grabbed (?:his|her|my) chest',
      'greift sich an die brust',
      'se tient la poitrine',
      'grau im gesicht',
      'tout gris',
      'mumbling',
      'murmelt',
      'ice cold',
      'eiskalt',
      "(?:can'?t|cannot) feel (?:my|his|her) (?:feet|hands|legs)",
      'no siento los pies',
      "(?:can'?t|cannot) catch (?:my|his|her) breath",
      'barely get air',
      'asthma attack',
      'throat (?:feels )?tight',
      'sitting on my chest',
      'chest is crushing',
      'pfeifend',
      'blau um die lippen',
      'levres (?:sont )?bleues',
      'labios morados',
      'gargouillis',
      'gargaras',
      'cerrando la garganta',
      'face is blowing up',
      'shaking on the floor',
      'zuckt am ganzen korper',
      'schaum vorm mund',
      'espuma por la boca',
      'sacudiendo en el suelo',
      'diabet\\w* ~~(?:sweat\\w*|confused|shaking|trembl\\w*|zittert|schwitzt|suda\\w*|not making sense|wirres|sans sens|sin sentido)',
      "rash that (?:does ?n'?t|won'?t|will not) fade",
      'stiff neck',
      'locked (?:in )?(?:a |the )?car',
      'in the car ~(?:sun|hot|heat|degrees)',
      'im auto eingeschlossen',
      'enferme dans une voiture',
      'encerrado en un coche',
      'took (?:all )?(?:of )?my (?:sleeping )?(?:tablets|pills|meds)',
      'alle meine tabletten',
      'todas las pastillas',
      "(?:can'?t|cannot) keep myself safe",
      'letzte nachricht',
      '(?:mon )?dernier message',
      'ultimo mensaje',
      'seguir viviendo',
      'quitarme la vida',
      'ya no aguanto',
      '(?:been|is|was) cutting (?:herself|himself|myself|and)',
      'spurting',
      'soaked through',
      'blutung',
      'bluten',
      'sangrar',
      'skin ~(?:going white|peeling|coming off)',
      'peau se decolle',
      'haut (?:lost|loest) sich',
      'levantando la piel',
      '(?:kochende|heisse) wasser',
      'agua hirviendo',
      'eau bouillante',
      'took my (?:daughter|son|child|kid|baby)',
      'into a van',
      'breaking into (?:my|our|the) (?:car|house|home|flat)',
      'trying the (?:back |front )?door',
      'screaming for help',
      'hore schritte',
      'break in and hurt',
      'tritt gegen die tur',
      'kidnap\\w*',
      'something in the water',
      'wandered off ~(?:lake|river|pool|sea|beach)',
      'waters broke',
      'baby is coming',
      '(?:lift|elevator) (?:is )?stuck',
      'glass in (?:my|his|her) eye',
      'gresille',
      '(?:fell|fallen) (?:off|from) (?:the|a) ladder',
      'von der leiter gefallen',
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
      'queues? out the door',
      'mid (?:lunch|dinner|breakfast|morning) (?:service|rush)',
      'en pleno (?:desayuno|servicio|almuerzo)',
      '(?:need|send) (?:a technician|an engineer|someone) (?:now|today|asap|immediately)',
      '(?:losing|lose|lost) (?:about |around |roughly )?[$€£]?\\d+(?:[.,]\\d+)?\\s?k? (?:an|per|every|a) (?:hour|minute|day)',
      'completely dead',
      '(?:stopped|stop) selling',
      'nobody (?:gets|will get) paid',
      'payroll ~(?:failed|failing|error|down)',
      'nominas',
      "(?:cannot|can'?t|unable to) (?:serve|invoice|ship|sell|open|pay)",
      'falling through',
      'month end close',
      '(?:event|launch|opening|relaunch|conference|fair|messe|inauguration|ouverture|apertura) ~(?:is |starts |opens )?(?:tomorrow|today|tonight|in \\d+ (?:hours?|minutes?))',
      '(?:tomorrow|today) ~(?:event|launch|opening|conference|fair|messe)',
      'we open (?:in the morning|tomorrow|at \\d)',
      'guests arrive',
      '(?:guests|customers|patients|huespedes|gaste|clients) (?:are )?(?:waiting|esperando|warten|attendent)',
      'verlieren ~umsatz',
      'massiv umsatz',
      'plus rien vendre',
      'ne (?:marchent|fonctionnent) plus dans (?:aucun|tous)',
      "c'?est une catastrophe",
      'dringend zuruckrufen',
      '(?:all|every|both|whole) ~(?:machines|espresso machines|coffee machines|dishwashers|tills|registers|fleet|cafes|stores|filialen|cafeteras) ~~(?:died|dead|down|stopped|failed|stuck|error|ausgefallen|parado|paradas|broke)',
      'se nos han parado',
      'sind seit ~ausgefallen',
      'bouncing',
      'maxed',
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
      '(?:been|was|were|are|got) breached',
      'paste site',
      "(?:it'?s|its) not us",
      "(?:wasn'?t|was not|weren'?t) us",
      '(?:changing|changed) the (?:payout|bank|banking)',
      'datos bancarios',
      'took over',
      'removed all (?:the )?other admins',
      'robado la cuenta',
      'rancongiciel',
      'tout est chiffre',
      'verschlusselt',
      'encrypted (?:all|everything|our)',
      'everything is encrypted',
      'locked out ~(?:placing|ordering|changing|they)',
      'from an ip abroad',
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
      '(?:error|fails|failing|down) for (?:everyone|all users|all our)',
      'none of (?:our|the) \\d+ (?:users|staff|employees|agents) can',
      'keiner unserer',
      'alle konten gesperrt',
      'kompletter ausfall',
      'hors service pour tous',
      'completement hors service',
      'plus personne ne peut',
      'nadie puede',
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
  /\b(?:just kidding|jk|all gone now|(?:it'?s|is|everything is|all) (?:fine|ok|okay) now|(?:nobody|no one) (?:was|got) (?:hurt|injured)|kidding|all healed|healed now|back in (?:19|20)\d\d|last year|(?:el|l') ?(?:ano|annee) (?:pasado|derniere)|letztes jahr|since then|what if|(?:que|qu'?est-ce que je) (?:hago|fais) si|algun dia|si un jour|was mache ich,? wenn|just (?:curious|asking|wondering)|(?:inbox|mailbox|postfach|boite (?:mail|de reception)|bandeja de entrada) (?:\w+ ){0,2}(?:on fire|brennt|en feu|arde)|(?:nearly|almost) had a heart attack|gave me a heart attack|resistente al fuego|fire[- ]?(?:resistant|proof|retardant)|feuerfest|ignifuge|resistant au feu|creme brulee|(?:boss|wife|husband|mum|mom|mother|dad|manager|patron|chef|femme|mari|mere|jefe|mujer|marido|madre|frau|mann|mutter)(?:'ll| will| is going to| gonna| va| me va a| bringt)? (?:\w+ ){0,2}(?:kill me|me tuer|matar|mich um)|mataria por|no big deal|(?<!no )esta bien|es geht (?:ihr|ihm|mir|uns|allen) (?:wieder )?gut|rien de grave|(?:totally|completely) fine|all sorted|(?:it'?s|smell is) gone now|nothing serious|just a (?:scratch|small cut)|pas grave|nicht schlimm|nada grave|(?:he'?s|she'?s|they'?re|i'?m|we'?re|he is|she is) (?:totally |completely )?(?:fine|ok|okay|alright)(?: now)?|(?:il|elle) va bien|l'?an dernier|solo por saber|(?:novel|story|film|movie|game) (?:where|in which)|on fire this (?:quarter|year|month|week|season)|ca va maintenant|tout va bien maintenant|ahora (?:funciona|esta|estoy|estamos) bien|ya (?:esta|estoy|estamos) bien|jetzt (?:ist )?(?:wieder )?alles (?:gut|ok))\b/u;

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

let bundled: EmergencyClassifier | undefined;
/** The bundled classifier, read once per process (about 1 MB of features). */
function bundledClassifier(): EmergencyClassifier {
  return (bundled ??= EmergencyClassifier.bundled());
}

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

  private readonly classifier: EmergencyClassifier | null;

  /**
   * @param options.classifier the learned classifier beside the rules; `null`
   *   for the rules alone. @default the bundled one (bench/emergency/train.py)
   */
  constructor(
    private readonly rules: EmergencyRules = DEFAULT_EMERGENCY_RULES,
    options: { classifier?: EmergencyClassifier | null } = {},
  ) {
    this.classifier = options.classifier === undefined ? bundledClassifier() : options.classifier;
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
    // The classifier catches what no rule names; the same guard applies.
    if (matched.size === 0 && this.classifier?.isEmergency(sample) && !RESOLVED.test(plain))
      matched.add('classifier');
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
