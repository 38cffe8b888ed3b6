// i18n.js — the console's two languages: zh-CN by default, English by the
// header toggle, remembered in localStorage. Static labels carry
// data-i18n="key" (text) or data-i18n-ph="key" (placeholder); views that build
// text with t() re-render on onLangChange.
import zh from './i18n/zh-CN.js';
import en from './i18n/en.js';

const dicts = { 'zh-CN': zh, en };
const KEY = 'sg.lang';
let lang = dicts[localStorage.getItem(KEY)] ? localStorage.getItem(KEY) : 'zh-CN';
const listeners = [];

export function t(key) {
  const d = dicts[lang];
  return key in d ? d[key] : (key in zh ? zh[key] : key);
}

export function currentLang() { return lang; }

export function applyLabels(root = document) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-ph]')) el.placeholder = t(el.dataset.i18nPh);
  for (const el of root.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
}

export function setLang(l) {
  if (!dicts[l] || l === lang) return;
  lang = l;
  localStorage.setItem(KEY, l);
  applyLabels();
  for (const fn of listeners) fn(l);
}

export function onLangChange(fn) { listeners.push(fn); }

// A state, case type, kind... label: t('state.new'), falling back to the raw id.
export function label(prefix, id) {
  const k = prefix + '.' + id;
  const v = t(k);
  return v === k ? id : v;
}

// The name of a category or department in the current language.
export function nameOf(obj) {
  if (!obj) return '';
  return (lang === 'en' && obj.name_en) ? obj.name_en : (obj.name_zh || obj.name || obj.id || '');
}

export const languages = Object.keys(dicts);

// A time as the command centre reads it: China Standard Time, in the console's language.
export function fmtTime(iso, withDate = true) {
  const d = new Date(iso);
  if (isNaN(d)) return '';
  const opts = { timeZone: 'Asia/Shanghai', hour12: false, hour: '2-digit', minute: '2-digit', second: '2-digit' };
  if (withDate) Object.assign(opts, { year: 'numeric', month: '2-digit', day: '2-digit' });
  return d.toLocaleString(lang === 'en' ? 'en-GB' : 'zh-CN', opts);
}

// A time as short as it can be read unambiguously in a list: the time alone
// today, month and day this year, the full date before. China Standard Time.
export function fmtWhen(iso, now = Date.now()) {
  const d = new Date(iso);
  if (isNaN(d)) return '';
  const cst = (ms) => new Date(ms + 8 * 3600e3).toISOString();
  const at = cst(d.getTime()), today = cst(now);
  if (at.slice(0, 10) === today.slice(0, 10)) return fmtTime(iso, false);
  if (at.slice(0, 4) !== today.slice(0, 4)) return fmtTime(iso);
  const opts = { timeZone: 'Asia/Shanghai', hour12: false, month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' };
  return d.toLocaleString(lang === 'en' ? 'en-GB' : 'zh-CN', opts);
}
