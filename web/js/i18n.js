// Languages: every UI string in English and French (strings.js), chosen from the browser and
// switchable (kept in localStorage); dates and numbers through Intl in the chosen language.

import { STRINGS } from './strings.js';

export const LANGUAGES = [
  { code: 'en', name: 'English' },
  { code: 'fr', name: 'Français' },
];
const KEY = 'openjam.lang';
const listeners = new Set();

function pick() {
  let saved = null;
  try { saved = localStorage.getItem(KEY); } catch { /* storage disabled */ }
  if (saved && STRINGS[saved]) return saved;
  for (const tag of navigator.languages || [navigator.language || 'en']) {
    const base = String(tag).toLowerCase().split('-')[0];
    if (STRINGS[base]) return base;
  }
  return 'en';
}

let current = pick();
document.documentElement.lang = current;

export function lang() { return current; }

export function setLang(code) {
  if (!STRINGS[code] || code === current) return;
  current = code;
  document.documentElement.lang = code;
  try { localStorage.setItem(KEY, code); } catch { /* storage disabled */ }
  for (const fn of listeners) fn(code);
}

export function onLangChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/**
 * The string `key` in the current language with `{name}` placeholders filled. A value that is an
 * object picks a plural form by `count` (Intl.PluralRules): {one: '…', other: '…'}.
 */
export function t(key, params = {}) {
  let value = STRINGS[current][key] ?? STRINGS.en[key];
  if (value === undefined) return key;
  if (typeof value === 'object') {
    const form = new Intl.PluralRules(current).select(params.count ?? 0);
    value = value[form] ?? value.other;
  }
  return value.replace(/\{(\w+)\}/g, (_, name) => {
    const v = params[name];
    return typeof v === 'number' ? num(v) : String(v ?? '');
  });
}

export function num(n, options) {
  return new Intl.NumberFormat(current, options).format(n);
}

/** A date and time in the viewer's own time zone and language. */
export function dateTime(iso, options = { dateStyle: 'medium', timeStyle: 'short' }) {
  return new Intl.DateTimeFormat(current, options).format(new Date(iso));
}

/** "3 minutes ago", "in 2 hours". */
export function relative(iso, now = Date.now()) {
  const diff = (new Date(iso).getTime() - now) / 1000;
  const rtf = new Intl.RelativeTimeFormat(current, { numeric: 'auto' });
  const abs = Math.abs(diff);
  if (abs < 45) return rtf.format(Math.round(diff), 'second');
  if (abs < 2700) return rtf.format(Math.round(diff / 60), 'minute');
  if (abs < 79200) return rtf.format(Math.round(diff / 3600), 'hour');
  return rtf.format(Math.round(diff / 86400), 'day');
}

/** A countdown "2 d 03:04:05" to `iso`, from a clock corrected by the server's `now`. */
export function countdown(ms) {
  if (ms <= 0) return num(0);
  const total = Math.floor(ms / 1000);
  const d = Math.floor(total / 86400);
  const pad = (n) => String(n).padStart(2, '0');
  const hms = `${pad(Math.floor((total % 86400) / 3600))}:${pad(Math.floor((total % 3600) / 60))}:${pad(total % 60)}`;
  return d > 0 ? `${t('days_short', { count: d })} ${hms}` : hms;
}

/** The viewer's time zone name, shown beside date pickers. */
export function timeZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}
