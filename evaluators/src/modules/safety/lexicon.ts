/**
 * Harm lexicons by category. Each entry is a phrase pattern over *normalized* text (see normalize.ts:
 * lower-case ASCII, single spaces), matched on word boundaries. Entries are phrase-level on purpose:
 * a trigger must say harm ("how to make a pipe bomb", "I will kill you"), never a single innocent word
 * ("kill the process", "shoot a photo", "bath bomb", "therapist"). The few single words here are
 * unambiguous slurs. Orgs add phrases (`extra_terms`) and allow phrases (`allow`) in config.
 *
 * @example
 *   const lex = compileLexicon({ extra_terms: { weapons_illegal: ['3d printed receiver'] }, allow: [] });
 *   lex.match(normalize(text).text) // → [{ category, from, to }]
 */
import { matchNear, spaced } from './normalize.js';
import { compilePhrases } from './phrases.js';

export const CATEGORIES = ['violence', 'self_harm', 'sexual', 'hate', 'weapons_illegal'] as const;
export type Category = (typeof CATEGORIES)[number];

const PERSON = String.raw`(?:you|u|him|her|them|everyone|everybody|someone|somebody|a person|people|all of you|my (?:wife|husband|boss|neighbou?r|mom|mum|dad|mother|father|parents|teacher|classmate|coworker|co worker|ex|girlfriend|boyfriend|brother|sister|son|daughter|family)|your (?:family|wife|husband|kids|children|mother|father)|a (?:child|kid|baby|cop|police officer))(?! (?:process|processes|proc|thread|threads|node|nodes|element|elements|task|tasks|job|jobs|pod|pods|container|containers|window|widget|component|class|object|instance|session|branch|query|worker|workers|script|character|npc|mob|boss|monster|in (?:the )?(?:game|minecraft|skyrim)|(?:an? |the |my |some )?(?:email|e mail|mail|message|text|note|line|dm|pm|link|invite|invitation|reminder|update|call|ping|look|glance|smile|question|quick)))`;
const HOWTO = String.raw`(?:how (?:do i|do you|to|can i|could i|would i|should i|would you|can you)|ways? to|best way to|easiest way to|steps? to|instructions (?:for|on|to)|guide (?:for|on|to)|tutorial (?:for|on)|teach me (?:how )?to|help me|tell me how to|explain how to)`;
const MAKE = String.raw`(?:make|build|assemble|construct|create|craft|manufacture|produce|cook|synthesi[sz]e|brew|prepare|rig)`;
// Video-game and idiom contexts that make a phrase innocent ("best way to die in Elden Ring", "bomb-proof").
const NOT_REAL = String.raw`(?! (?:in|on|for) (?:a |the |my )?(?:game|video game|videogame|dark souls|elden ring|minecraft|fortnite|roblox|skyrim|fallout|gta(?: \w+)?|call of duty|counter strike|cs ?go|valorant|zelda|sims|terraria|rust|dayz)\b)`;
const GROUPS = String.raw`(?:jews|jewish people|muslims|blacks|black people|gays|gay people|lesbians|immigrants|refugees|mexicans|arabs|asians|chinese people|christians|hindus|sikhs|women|trans people|transgender people|disabled people|gypsies|roma|latinos|africans|whites|white people)`;

export const LEXICON: Record<Category, string[]> = {
  violence: [
    String.raw`(?:i(?:'m| am)? (?:going to|gonna|will|wanna|want to|am going to|plan to|'m about to)|i'll|i'd like to|we(?:'re| are) going to|we'll) (?:kill|murder|stab|shoot|strangle|slaughter|behead|butcher|torture|hurt|beat|execute|choke) ${PERSON}`,
    String.raw`${HOWTO} (?:kill|murder|poison|strangle|stab|suffocate|drown|torture|dismember) ${PERSON}`,
    String.raw`${HOWTO} (?:get away with|cover up) (?:a )?(?:murder|killing|homicide)`,
    String.raw`(?:hide|dispose of|get rid of|dissolve|bury) (?:a|the|his|her) (?:dead )?(?:body|corpse)(?! (?:text|tag|paragraph|element|of (?:the|your|an?) (?:email|text|article|essay|letter|code|html|document|request)))`,
    String.raw`(?:beat|stab|choke|kick) (?:you|him|her|them) to death`,
    String.raw`shoot up (?:the|a|my|our|this) (?:school|church|mosque|synagogue|temple|mall|office|concert|classroom|campus)`,
    String.raw`(?:plan|planning|carry out|commit) (?:a |an )?(?:mass shooting|school shooting|massacre|terrorist attack|terror attack|stabbing spree)`,
    String.raw`(?:you|he|she|they) (?:deserve|deserves) to (?:die|be killed|be shot|be raped|suffer)`,
    String.raw`(?:kidnap|abduct) (?:a |the |my |your )?(?:child|kid|girl|boy|woman|person|ex)`,
  ],
  self_harm: [
    String.raw`(?:kill|killing|hang|hanging|off|cut|cutting|hurt|hurting|harm|harming|shoot|shooting|drown|drowning|starve|starving) myself`,
    String.raw`(?:end|ending|take|taking) (?:my|my own) life`,
    String.raw`(?:commit|committing|attempt|attempting|thinking about|thoughts of|thoughts about|plan|planning) suicide`,
    String.raw`(?:don't|do not|dont) want to (?:live|be alive|exist|wake up) (?:anymore|any more)`,
    String.raw`(?:no reason|nothing left) to live for`,
    String.raw`(?:i'd|i would|i'm|i am|everyone would be|they'd be|they would be) better off (?:dead|without me)`,
    String.raw`(?:best|easiest|quickest|fastest|painless|least painful|most painless|surest) (?:way|ways|method|methods) to (?:die|kill (?:myself|yourself|oneself)|commit suicide|end (?:it all|my life|your life))${NOT_REAL}`,
    String.raw`how (?:many|much) (?:\w+ ){0,3}(?:to|would it take to|does it take to|until i|before i) (?:die|overdose|od|kill (?:myself|me|a person|someone))`,
    String.raw`(?:lethal|fatal) dose of (?:\w+ ){0,2}(?:to|for) (?:kill myself|die|end it)`,
    String.raw`(?:you should|go|just go|why don't you|why dont you) (?:kill yourself|kys|die|hang yourself|end your life|off yourself)`,
    String.raw`write (?:a|my) suicide note`,
  ],
  sexual: [
    String.raw`(?:sex|sexual|sexy|nude|naked|explicit|porn|pornographic|erotic|lewd|nsfw) (?:\w+ ){0,2}(?:with|of|involving|featuring|showing) (?:a |an |the |my |your )?(?:minor|minors|child|children|kid|kids|underage|preteen|toddler|little (?:girl|boy)|(?:\d{1,2}|ten|eleven|twelve|thirteen|fourteen|fifteen) ?(?:year|yr) ?old)`,
    String.raw`(?:child|kiddie|kiddy|underage|preteen|minor) (?:porn|pornography|sex|nudes|nude photos|sexual abuse material|erotica)`,
    String.raw`(?:send|share|show) (?:me )?(?:your |some )?(?:nudes|nude pics|nude photos|naked pics|naked photos|dick pics)`,
    String.raw`(?:i(?:'m| am)? (?:going to|gonna|will|want to)|i'll|how to|how do i|how can i) (?:rape|molest|sexually assault|grope) ${PERSON}`,
    String.raw`(?:drug|spike) (?:her|his|their|someone's|a girl's|a woman's) (?:drink|drinks)`,
    String.raw`(?:write|generate|describe|narrate) (?:me )?(?:an? |some )?(?:explicit|graphic|hardcore|erotic|pornographic|nsfw|steamy|smutty) (?:sex|sexual|porn|erotic)? ?(?:story|scene|fanfic|fan fiction|roleplay|role play|content|description)`,
    String.raw`(?:groom|grooming) (?:a |the )?(?:child|kid|minor|girl|boy) (?:for|into) (?:sex|sexual)`,
  ],
  hate: [
    String.raw`(?:all|those|these|the|most|filthy|dirty) ${GROUPS} (?:should|must|need to|deserve to|ought to|have to) (?:die|be killed|be exterminated|be gassed|be wiped out|be eradicated|burn|hang|be shot|be lynched|be sterilized)`,
    String.raw`(?:gas|exterminate|kill|wipe out|eradicate|lynch|deport) (?:all )?(?:the |those |these )?${GROUPS}`,
    String.raw`${GROUPS} (?:are|r) (?:vermin|subhuman|sub human|animals|parasites|cockroaches|rats|a disease|a plague|inferior|savages|not human|apes|monkeys)`,
    String.raw`(?:heil hitler|sieg heil|white power|white pride world wide|race war now|(?<!\d\x20*)1488(?!\x20*\d)|the great replacement is real)`,
    String.raw`(?:nigger|niggers|faggot|faggots|kike|kikes|wetback|wetbacks|towelhead|towelheads|raghead|ragheads|sand nigger|chinaman|spics|beaners|trannies)`,
  ],
  weapons_illegal: [
    String.raw`${HOWTO} ${MAKE} (?:a |an |my own |your own |homemade |a homemade )?(?:pipe ?bomb|bomb|ied|improvised explosive(?: device)?|molotov(?: cocktail)?|explosives?|explosive device|napalm|thermite bomb|nail bomb|car bomb|suicide vest|dirty bomb|nerve agent|sarin|vx gas|ricin|anthrax|mustard gas|chlorine gas|ghost gun|untraceable (?:gun|firearm)|silencer|suppressor|zip gun|grenade|landmine|detonator)(?! (?:proof|resistant|shelter|shelters|squad|disposal|bay|cyclone|calorimeter|threat|sniffing|dog|emoji|pop))${NOT_REAL}`,
    String.raw`(?:pipe ?bomb|nail bomb|car bomb|ied|dirty bomb|suicide vest|molotov cocktail|nerve agent|ricin|sarin) (?:recipe|instructions|tutorial|blueprint|schematic|step by step)`,
    String.raw`${HOWTO} (?:convert|modify|turn) (?:an? |my |your )?(?:ar ?15|ar|glock|semi ?auto(?:matic)?|rifle|pistol|gun) (?:to|into|for) (?:full ?auto|fully automatic|automatic|burst fire)`,
    String.raw`(?:${HOWTO} )?(?:cook|make|synthesi[sz]e|manufacture|produce|extract) (?:crystal )?(?:meth|methamphetamine|fentanyl|heroin|crack cocaine|lsd|mdma|ghb|dmt) (?:at home|in my|in a|from|using|with|step|recipe)`,
    String.raw`${HOWTO} (?:cook|synthesi[sz]e|manufacture) (?:crystal )?(?:meth|methamphetamine|fentanyl|heroin|cocaine|lsd|mdma)`,
    String.raw`(?:buy|purchase|get|obtain|order) (?:a |an )?(?:gun|guns|firearm|firearms|pistol|rifle|ammo) without (?:a )?(?:background check|license|licence|serial number|paperwork)`,
    String.raw`(?:buy|purchase|order|sell|get) (?:\w+ ){0,2}(?:drugs|cocaine|heroin|fentanyl|meth|guns|firearms|weapons|stolen credit cards|credit card dumps|fullz) (?:on|from|off|via|through) (?:the )?dark ?(?:web|net)`,
    String.raw`${HOWTO} (?:launder|clean) (?:the |my |dirty |drug |stolen )?(?:money|cash|funds|proceeds)`,
    String.raw`${HOWTO} (?:make|print|produce|pass) counterfeit (?:money|bills|currency|cash|notes|dollars|euros)`,
    String.raw`${HOWTO} (?:hotwire|steal) (?:a |my neighbou?r's |someone's )?(?:car|vehicle|motorcycle|catalytic converter)`,
    String.raw`${HOWTO} (?:smuggle|traffic) (?:drugs|cocaine|heroin|guns|weapons|people|humans|migrants)`,
  ],
};

/** Words one of which every entry of a category contains: when none is in the text, its pattern never runs. */
const STEMS: Record<Category, string[]> = {
  violence: ['kill', 'murder', 'stab', 'shoot', 'strangl', 'slaughter', 'behead', 'butcher', 'tortur', 'hurt', 'beat', 'execut', 'chok', 'poison', 'suffocat', 'drown', 'dismember', 'body', 'corpse', 'death', 'massacre', 'attack', 'spree', 'deserve', 'kidnap', 'abduct', 'get away with', 'cover up', 'kick'],
  self_harm: ['myself', 'life', 'suicide', 'live', 'dead', 'without me', 'die', 'overdose', 'od', 'dose', 'kys', 'yourself', 'oneself', 'anymore', 'any more', 'it all', 'how many', 'how much'],
  sexual: ['sex', 'nude', 'naked', 'explicit', 'porn', 'erotic', 'lewd', 'nsfw', 'rape', 'molest', 'assault', 'grope', 'drink', 'graphic', 'hardcore', 'steamy', 'smut', 'groom', 'dick pic'],
  // Every hate entry names a group or is one of the fixed slogans and slurs: those are the stems.
  hate: ['jew', 'muslims', 'blacks', 'black people', 'gays', 'gay people', 'lesbians', 'immigrant', 'refugee', 'mexicans', 'arabs', 'asians', 'chinese people', 'christians', 'hindus', 'sikhs', 'women', 'trans people', 'transgender', 'disabled people', 'gypsies', 'roma', 'latinos', 'africans', 'whites', 'white p', 'heil', 'sieg', 'race war', '1488', 'the great replacement', 'nigg', 'sand nigg', 'fag', 'kike', 'wetback', 'towelhead', 'raghead', 'chinaman', 'spics', 'beaner', 'trannies'],
  weapons_illegal: ['bomb', 'ied', 'explosive', 'molotov', 'napalm', 'nerve', 'sarin', 'vx', 'ricin', 'anthrax', 'mustard', 'chlorine', 'gun', 'firearm', 'silencer', 'suppressor', 'grenade', 'landmine', 'detonator', 'vest', 'auto', 'burst', 'meth', 'fentanyl', 'heroin', 'cocaine', 'crack', 'lsd', 'mdma', 'ghb', 'dmt', 'ammo', 'pistol', 'rifle', 'weapon', 'dark', 'fullz', 'launder', 'money', 'cash', 'funds', 'proceeds', 'counterfeit', 'hotwire', 'steal', 'smuggl', 'traffic'],
};

export interface LexiconOptions {
  extra_terms: Partial<Record<Category, string[]>>;
  allow: string[];
  categories: readonly Category[];
}

export interface LexiconMatch {
  category: Category;
  /** Normalized offsets. */
  from: number;
  to: number;
}

export interface CompiledLexicon {
  match(normalizedText: string): LexiconMatch[];
}

const BOUNDED = (source: string) => new RegExp(String.raw`(?<![a-z0-9'])(?:${spaced(source)})(?![a-z0-9])`, 'g');

/**
 * Compiles the lexicon with an org's additions and allow-list. `normalizePhrase` is applied to the
 * config phrases so that "K1ll" in config means the same as "kill". The built-in patterns are regexes
 * of our own, run only in windows around their stems; the org's phrases are literals, matched by
 * `compilePhrases` in time linear in the text however many there are (an alternation of thousands
 * of phrases in one regex stalled evaluation). Matches of one category never overlap.
 */
export function compileLexicon(options: LexiconOptions, normalizePhrase: (s: string) => string): CompiledLexicon {
  const stems = createStemIndex();
  const compiled = options.categories.map((category, bit) => {
    for (const stem of STEMS[category]) stems.add(stem, bit);
    const extra = (options.extra_terms[category] ?? []).map((t) => normalizePhrase(t));
    return { category, bit, pattern: BOUNDED(LEXICON[category].map((p) => `(?:${p})`).join('|')), phrases: compilePhrases(extra) };
  });
  const allow = compilePhrases(options.allow.map((t) => normalizePhrase(t)));

  return {
    match(text: string): LexiconMatch[] {
      const hits = stems.scan(text);
      const matches: LexiconMatch[] = [];
      for (const { category, bit, pattern, phrases } of compiled) {
        const mine = hits.filter((h) => (h[2] & (1 << bit)) !== 0);
        const found = mine.length === 0 ? [] : matchNear(text, mine, pattern, 80, 120);
        if (phrases.size > 0) found.push(...phrases.match(text));
        if (found.length === 0) continue;
        found.sort((a, b) => a.from - b.from || b.to - a.to);
        let end = -1;
        for (const hit of found) {
          if (hit.from < end) continue; // overlaps a match of the same category
          matches.push({ category, from: hit.from, to: hit.to });
          end = hit.to;
        }
      }
      if (allow.size === 0 || matches.length === 0) return matches;
      return withoutAllowed(matches, allow.match(text));
    },
  };
}

/** Matches that overlap no allowed span: the spans merged in order, then a binary search per match. */
function withoutAllowed(matches: LexiconMatch[], allowed: ReadonlyArray<{ from: number; to: number }>): LexiconMatch[] {
  const spans: Array<{ from: number; to: number }> = [];
  for (const a of [...allowed].sort((x, y) => x.from - y.from)) {
    const last = spans[spans.length - 1];
    if (last !== undefined && a.from <= last.to) last.to = Math.max(last.to, a.to);
    else spans.push({ from: a.from, to: a.to });
  }
  return matches.filter((m) => {
    // the last span starting before the match ends; disjoint and sorted, so it reaches furthest
    let lo = 0;
    let hi = spans.length - 1;
    let at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (spans[mid]!.from < m.to) {
        at = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return at < 0 || spans[at]!.to <= m.from;
  });
}

/**
 * Finds stems (word prefixes; a space in a stem matches a run of spaces) at word starts in one pass:
 * a table indexed by a word's first two characters lists the stems to compare there, so a word
 * that starts no stem costs two array reads. Each hit carries a bitmask of the categories using it.
 */
export function createStemIndex() {
  // third: the stem's third character when its second is not a space (the text must have it right
  // there, so most words that share a stem's first two letters are turned away with one comparison), else -1
  type Entry = { stem: string; mask: number; third: number };
  const table = new Map<number, Entry[]>();
  const slots = new Int32Array(128 * 128).fill(-1);
  const lists: Entry[][] = [];
  const isWord = (c: number) => (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 39;
  return {
    add(stem: string, bit: number): void {
      const s = stem.trim().replace(/ +/g, ' ');
      if (s.length === 0) return;
      const key = (s.charCodeAt(0) & 127) * 128 + ((s.length > 1 ? s.charCodeAt(1) : 32) & 127);
      let list = table.get(key);
      if (list === undefined) {
        list = [];
        table.set(key, list);
        slots[key] = lists.length;
        lists.push(list);
      }
      const existing = list.find((e) => e.stem === s);
      if (existing !== undefined) existing.mask |= 1 << bit;
      else list.push({ stem: s, mask: 1 << bit, third: s.length > 2 && s.charCodeAt(1) !== 32 ? s.charCodeAt(2) : -1 });
    },
    scan(text: string): Array<[number, number, number]> {
      const hits: Array<[number, number, number]> = [];
      const n = text.length;
      let prevWord = false;
      for (let i = 0; i < n; i++) {
        const c = text.charCodeAt(i);
        const word = isWord(c);
        if (word && !prevWord && c < 128) {
          const next = i + 1 < n ? text.charCodeAt(i + 1) & 127 : 32;
          const slot = slots[c * 128 + next] as number;
          if (slot >= 0) {
            const third = i + 2 < n ? text.charCodeAt(i + 2) : -2;
            for (const { stem, mask, third: wanted } of lists[slot] as Entry[]) {
              if (wanted >= 0 && wanted !== third) continue;
              const end = matchStem(text, i, stem);
              if (end >= 0) hits.push([i, end, mask]);
            }
          }
        }
        prevWord = word;
      }
      return hits;
    },
  };
}

/** End of `stem` matched at `at` (a space matches one or more spaces), or -1. */
function matchStem(text: string, at: number, stem: string): number {
  let i = at;
  for (let j = 0; j < stem.length; j++) {
    const s = stem.charCodeAt(j);
    if (s === 32) {
      if (text.charCodeAt(i) !== 32) return -1;
      while (text.charCodeAt(i) === 32) i++;
      continue;
    }
    if (text.charCodeAt(i) !== s) return -1;
    i++;
  }
  return i;
}
