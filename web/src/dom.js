// dom.js — the small HTML helpers the views share: every text from the
// server goes through esc() before it reaches innerHTML.
import { label, nameOf, fmtTime } from './i18n.js';

export function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[ch]));
}

// One line for a case in a list: priority dot, id, category, state, owner, time.
export function caseMini(c, ctx) {
  const cat = ctx.category(c.category);
  return `<div class="case-mini" data-case="${c.id}"><span class="dot prio-${c.priority}"></span>#${c.id} ${esc(nameOf(cat) || c.category)} · ${esc(label('state', c.status))} <span class="muted">${esc(nameOf(c.org))} · ${fmtTime(c.created_at)}</span></div>`;
}
