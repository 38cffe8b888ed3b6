// callers.js — 重复来电: a number's reports of the last days, each case once,
// for the intake desk (when the operator leaves the phone field) and a case's
// detail (a report's caller). The server audits every lookup and refuses the
// roles that do not read callers in full, so a view asks once per number, and
// only when the account may (ctx.me.personal_data).
import * as api from './api.js';
import { t } from './i18n.js';
import { esc, caseMini } from './dom.js';

export const REPEAT_DAYS = 30;

export function mayLookUp(ctx, phone) {
  return !!ctx.me.personal_data && (phone || '').replace(/\D/g, '').length >= 5;
}

export function lookUpCaller(phone) {
  return api.post('/api/v1/reports/by-caller', { phone, days: REPEAT_DAYS, limit: 20 });
}

// Fills el with r, an answer of lookUpCaller (null empties and hides it); a
// row opens its case on the board.
export function renderCallerHistory(el, r, ctx) {
  el.hidden = !r;
  el.className = 'caller-history' + (r && r.reports.length ? ' repeat' : '');
  if (!r) { el.innerHTML = ''; return; }
  if (!r.reports.length) {
    el.innerHTML = `<p class="muted repeat-none">${esc(t('intake.repeat_none').replace('{d}', r.days))}</p>`;
    return;
  }
  const cases = new Map();
  for (const rep of r.reports) {
    const seen = cases.get(rep.case.id);
    if (seen) seen.n++;
    else cases.set(rep.case.id, { c: rep.case, n: 1 });
  }
  const n = r.reports.length + (r.more ? '+' : '');
  el.innerHTML = `<h4><span class="badge esc">${esc(t('intake.repeat'))}</span>
    <span class="repeat-count" data-n="${r.reports.length}">${esc(t('intake.repeat_count').replace('{d}', r.days).replace('{n}', n))}</span></h4>
    <div class="rows">${[...cases.values()].map(({ c, n: k }) => k > 1
      ? caseMini(c, ctx).replace('</div>', ` · ${esc(t('intake.repeat_times').replace('{n}', k))}</div>`)
      : caseMini(c, ctx)).join('')}</div>`;
  for (const row of el.querySelectorAll('[data-case]')) row.addEventListener('click', () => ctx.go('board', +row.dataset.case));
}
