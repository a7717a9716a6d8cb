/**
 * A small, fast language detector of our own: the writing system decides between scripts (Han,
 * kana, Hangul, Arabic, Hebrew, Greek, Devanagari, Thai, Cyrillic), and within Latin and Cyrillic
 * text the most frequent function words decide the language. Function words are what short answers
 * are made of, so this stays right on two-sentence answers where character n-gram profiles waver,
 * and it costs one pass over at most `MAX_CHARS` characters.
 *
 * The answer is an ISO 639-1 code, or `und` when the text is too short or too mixed to say.
 *
 * @example
 *   detectLanguage('¿Dónde está la estación de tren?').language; // 'es'
 */
import { maskCode } from './text.js';

export interface Detection {
  language: string;
  /** 0..1: the share of the evidence that points to `language`. */
  confidence: number;
}

/** Latin and Cyrillic languages told apart by their function words. */
const FUNCTION_WORDS: Record<string, string> = {
  en: 'the and is are was were of to in that it for with as on this be have has not you your what which will would can from by they there i do does how when why if my should an or but about get use',
  es: 'el la los las de del que y en es un una por con para no se su al lo como más pero sus le ya muy también fue está son hay esto donde cuando',
  fr: 'le la les de des du et est un une que qui dans pour pas sur au aux ce cette il elle ne sont avec vous nous mais ou par plus être été',
  de: 'der die das und ist ein eine nicht zu den dem des mit von auf für im sich auch es sind wird wir ich sie aber oder wie bei nach kann',
  it: 'il lo la gli le di del della che e è un una per non con sono nel nella si come anche ma più questo questa ha al alla dei delle essere',
  pt: 'o a os as de do da dos das que e é um uma para com não em no na por se mais como mas ao foi são está também você isso pelo pela',
  nl: 'de het een en is van in dat op te niet zijn met voor er die ook als maar aan bij om wat dit wordt kan hebt heeft worden naar uit',
  sv: 'och att det som en ett är på för av med till den inte har jag de om var men så kan vi från eller vid också hur detta',
  pl: 'i w na z że do nie się jest to o jak ale co od po tak za czy dla są jego jej już przez może tylko oraz który która które',
  tr: 've bir bu da de için ile ne çok daha gibi ama olan olarak var yok mı mi değil ben sen o biz en kadar sonra her şey',
  ru: 'и в не на что я с он как это по но из у к за так же от все она то было для бы вы мы о ты если или когда только',
  uk: 'і в не на що я з він як це по але із у до за та так від все вона то було для б ви ми про ти якщо або коли тільки',
};
const WORD_LANGS = new Map<string, string[]>();
for (const [lang, list] of Object.entries(FUNCTION_WORDS)) {
  for (const w of list.split(' ')) WORD_LANGS.set(w, [...(WORD_LANGS.get(w) ?? []), lang]);
}

/** Scripts that name one language, by code point range (Han alone is Chinese; Han with kana is Japanese). */
const SCRIPTS: [number, number, string][] = [
  [0x3040, 0x30ff, 'ja'],
  [0xac00, 0xd7af, 'ko'],
  [0x1100, 0x11ff, 'ko'],
  [0x4e00, 0x9fff, 'zh'],
  [0x0600, 0x06ff, 'ar'],
  [0x0590, 0x05ff, 'he'],
  [0x0370, 0x03ff, 'el'],
  [0x0900, 0x097f, 'hi'],
  [0x0e00, 0x0e7f, 'th'],
];
const NON_LETTER = /[^\p{L}']+/u;
const MAX_CHARS = 600;
const MIN_HITS = 3;

/** The languages the detector can name. */
export const DETECTABLE_LANGUAGES = [...Object.keys(FUNCTION_WORDS), 'ja', 'ko', 'zh', 'ar', 'he', 'el', 'hi', 'th'] as const;

/** What the detector reads of a text: its head, with code masked out. `masked`: the text already has its code masked out (`maskCode`). */
export function languageSample(text: string, masked = false): string {
  const head = text.length > MAX_CHARS ? text.slice(0, MAX_CHARS) : text;
  return masked ? head : maskCode(head);
}

/** `masked`: the text already has its code masked out (`maskCode`). */
export function detectLanguage(text: string, masked = false): Detection {
  const sample = languageSample(text, masked);
  const counts: Record<string, number> = {};
  let letters = 0;
  for (let i = 0; i < sample.length; i++) {
    const c = sample.charCodeAt(i);
    if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0xc0 && c <= 0x24f) || (c >= 0x400 && c <= 0x4ff)) {
      letters++;
      continue;
    }
    if (c < 0x370) continue;
    for (const [from, to, lang] of SCRIPTS) {
      if (c >= from && c <= to) {
        counts[lang] = (counts[lang] ?? 0) + 1;
        letters++;
        break;
      }
    }
  }
  if (letters < 8) return { language: 'und', confidence: 0 };
  const kana = counts.ja ?? 0;
  const han = counts.zh ?? 0;
  if (kana > 0 && kana + han > letters * 0.3) return { language: 'ja', confidence: Math.min(1, (kana + han) / letters) };
  for (const [lang, n] of Object.entries(counts)) {
    if (n > letters * 0.3) return { language: lang, confidence: Math.min(1, n / letters) };
  }

  const hits: Record<string, number> = {};
  let total = 0;
  for (const token of sample.toLowerCase().split(NON_LETTER)) {
    const langs = WORD_LANGS.get(token);
    if (!langs) continue;
    total++;
    for (const l of langs) hits[l] = (hits[l] ?? 0) + 1 / langs.length;
  }
  let best = 'und';
  let bestScore = 0;
  let second = 0;
  for (const [lang, score] of Object.entries(hits)) {
    if (score > bestScore) [second, best, bestScore] = [bestScore, lang, score];
    else if (score > second) second = score;
  }
  if (total < MIN_HITS || bestScore === second) return { language: 'und', confidence: 0 };
  if (best === 'ru' && /[іїєґ]/i.test(sample)) best = 'uk';
  return { language: best, confidence: bestScore / (bestScore + second) };
}
