// board.js — the case board (警情/工单): filters, a live list, and a case's
// detail with its reports, full history, transitions, diversion and
// dispatch (dispatch.js).
// Deadlines count down every second; escalated cases stand out.
import * as api from './api.js';
import * as live from './live.js';
import { t, label, nameOf, onLangChange, applyLabels, fmtTime, fmtWhen } from './i18n.js';
import { esc } from './dom.js';
import { createDispatchPanel } from './dispatch.js';
import { mayLookUp, lookUpCaller, renderCallerHistory } from './callers.js';

const STATES = ['new', 'dispatched', 'on_scene', 'sent', 'acknowledged', 'failed', 'in_progress', 'resolved', 'closed', 'cancelled'];
const SINCE = { '1h': 3600, '24h': 86400, '7d': 7 * 86400, '30d': 30 * 86400, all: 0 };

// A remaining time reads as one ("23:59:56 left", "剩余 1天 02:00:00"), never as a clock time.
function countdown(c) {
  if (!live.deadlineRunning(c)) return `<span class="muted">${t('deadline.done')}</span>`;
  const s = Math.round((Date.parse(c.deadline_at) - Date.now()) / 1000);
  if (s <= 0) return `<span class="overdue">${t('deadline.overdue')} ${fmt(-s)}</span>`;
  return t('deadline.left').replace('{d}', fmt(s));
}
function fmt(s) {
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60), x = s % 60;
  const days = d ? t('deadline.days').replace('{n}', d) + ' ' : '';
  const hh = d ? String(h).padStart(2, '0') + ':' : (h ? h + ':' : '');
  return days + hh + String(m).padStart(d || h ? 2 : 1, '0') + ':' + String(x).padStart(2, '0');
}

export function createBoardView(root, ctx) {
  root.innerHTML = `
    <div class="board" id="board">
      <div class="list">
        <div class="bar"><form class="filters" id="filters">
          <label><span data-i18n="board.status"></span><select name="status"></select></label>
          <label><span data-i18n="board.type"></span><select name="type"></select></label>
          <label><span data-i18n="board.category"></span><select name="category"></select></label>
          <label><span data-i18n="board.area"></span><input name="area" size="16" list="area-options" autocomplete="off"></label>
          <datalist id="area-options"></datalist>
          <label><span data-i18n="board.since"></span><select name="since"></select></label>
          <button type="submit" class="primary" data-i18n="board.apply"></button>
        </form>
        <form class="filters goto" id="goto">
          <label><span data-i18n="board.goto_label"></span><input name="id" size="10" inputmode="numeric" data-i18n-ph="board.goto_ph"></label>
          <button type="submit" data-i18n="board.goto"></button>
        </form></div>
        <table class="cases"><thead><tr>
          <th data-i18n="col.id"></th><th data-i18n="col.created"></th><th data-i18n="col.category"></th>
          <th data-i18n="col.priority"></th><th data-i18n="col.status"></th><th data-i18n="col.org"></th>
          <th data-i18n="col.place"></th><th data-i18n="col.deadline"></th></tr></thead><tbody id="rows"></tbody></table>
        <p class="muted" id="empty" hidden data-i18n="board.empty"></p>
        <button type="button" id="more" hidden data-i18n="board.more"></button>
      </div>
      <aside class="detail" id="detail" hidden></aside>
    </div>`;
  const form = root.querySelector('#filters');
  const tbody = root.querySelector('#rows');
  let rows = [], next = null, filter = {}, selected = null, detail = null;
  const dispatchPanel = createDispatchPanel(ctx);

  function fillFilters() {
    const keep = Object.fromEntries(['status', 'type', 'category', 'since'].map((k) => [k, form[k].value]));
    const any = `<option value="">${esc(t('board.any'))}</option>`;
    form.status.innerHTML = any + `<option value="open">${esc(t('board.open'))}</option>` + STATES.map((s) => `<option value="${s}">${esc(label('state', s))}</option>`).join('');
    form.type.innerHTML = any + ['incident', 'referral'].map((s) => `<option value="${s}">${esc(label('type', s))}</option>`).join('');
    form.category.innerHTML = any + ctx.categories.map((c) => `<option value="${esc(c.id)}">${esc(nameOf(c))}</option>`).join('');
    form.since.innerHTML = Object.keys(SINCE).map((k) => `<option value="${k}">${esc(t('since.' + k))}</option>`).join('');
    for (const [k, v] of Object.entries(keep)) form[k].value = v;
    if (!form.since.value) form.since.value = '24h';
  }
  fillFilters();
  applyLabels(root);

  function sinceIso() {
    const s = SINCE[form.since.value];
    return s ? new Date(Date.now() - s * 1000).toISOString().replace(/\.\d+Z$/, 'Z') : '';
  }

  // The area filter suggests areas by name or code as it is typed (the
  // server's search, so only areas in scope); a suggestion fills in the code.
  const areaOptions = root.querySelector('#area-options');
  let areaTimer = null, areaSeq = 0;
  form.area.addEventListener('input', () => {
    clearTimeout(areaTimer);
    areaTimer = setTimeout(async () => {
      const q = form.area.value.trim(), seq = ++areaSeq;
      if (!q) { areaOptions.innerHTML = ''; return; }
      try {
        const r = await api.get('/api/v1/areas' + api.qs({ q, limit: 20 }));
        if (seq !== areaSeq) return;
        areaOptions.innerHTML = r.areas.map((a) => `<option value="${esc(a.code || a.id)}">${esc(label('kind', a.kind))} ${esc(a.name)}</option>`).join('');
      } catch (e) { /* suggestions only: the filter itself reports errors */ }
    }, 250);
  });

  // What the area box holds as the API's area (a code or an id): a name
  // typed in full stands for the one area that bears it.
  async function areaParam(v) {
    if (!v || /^[0-9A-Za-z-]+$/.test(v)) return v;
    const r = await api.get('/api/v1/areas' + api.qs({ q: v, limit: 50 }));
    const exact = r.areas.filter((a) => a.name === v);
    const pick = exact.length === 1 ? exact[0] : (r.areas.length === 1 ? r.areas[0] : null);
    if (!pick) throw new Error(r.areas.length ? t('board.area_pick').replace('{q}', v) : t('map.search_none'));
    form.area.value = pick.code || String(pick.id);
    return form.area.value;
  }

  async function load(more = false) {
    if (!more) {
      let area;
      try { area = await areaParam(form.area.value.trim()); } catch (e) { ctx.toast(e.message, 5000); return; }
      const st = form.status.value;
      filter = { status: st === 'open' ? '' : st, open: st === 'open' ? 'true' : '', type: form.type.value,
        category: form.category.value, area, since: sinceIso() };
      rows = [];
    }
    try {
      const r = await api.get('/api/v1/cases' + api.qs({ ...filter, cursor: more ? next : '', limit: 100 }));
      for (const c of r.cases) live.upsert(c);
      rows = rows.concat(r.cases.map((c) => c.id));
      next = r.next_cursor;
      render();
    } catch (e) { ctx.error(e); }
  }

  // Whether a case (from the stream) belongs in the list as filtered.
  function matches(c) {
    if (filter.status && c.status !== filter.status) return false;
    if (filter.open && !live.isOpen(c)) return false;
    if (filter.type && c.type !== filter.type) return false;
    if (filter.category && c.category !== filter.category) return false;
    if (filter.since && Date.parse(c.created_at) < Date.parse(filter.since)) return false;
    if (filter.area && !c.areas.some((a) => String(a.id) === filter.area || a.code === filter.area)) return false;
    return true;
  }

  function rowHtml(c) {
    const cat = ctx.category(c.category);
    const esc8 = live.isEscalated(c);
    const orgName = nameOf(c.org.kind === 'department' ? (ctx.department(c.org.id) || c.org) : c.org);
    const place = (c.areas[0] || {}).name || '';
    return `<tr data-id="${c.id}" class="${esc8 ? 'escalated' : ''} ${selected === c.id ? 'selected' : ''}">
      <td>#${c.id}</td><td title="${esc(fmtTime(c.created_at))}">${esc(fmtWhen(c.created_at))}</td>
      <td>${esc(nameOf(cat) || c.category)} <span class="badge ${c.police ? 'police' : 'nonpolice'}">${esc(label('type', c.type))}</span></td>
      <td><span class="dot prio-${c.priority}"></span>${esc(label('prio', c.priority))}</td>
      <td class="st">${esc(label('state', c.status))}${esc8 ? ` <span class="badge esc">${t('escalated')} · ${esc(label('kind', c.escalation))}</span>` : ''}</td>
      <td class="clip" title="${esc(orgName)}">${esc(orgName)}</td>
      <td class="clip" title="${esc(place)}">${esc(place)}</td>
      <td class="dl" data-id="${c.id}">${countdown(c)}</td></tr>`;
  }

  function render() {
    const list = rows.map((id) => live.getCase(id)).filter((c) => c && matches(c));
    tbody.innerHTML = list.map(rowHtml).join('');
    root.querySelector('#empty').hidden = list.length > 0;
    root.querySelector('#more').hidden = !next;
  }

  live.subscribe((kind, c) => {
    if (kind === 'resync') { load(); return; }
    if (kind === 'loaded') return;
    const had = rows.includes(c.id);
    if (!had && matches(c)) rows.unshift(c.id);
    if (!had && !matches(c)) return;
    const tr = tbody.querySelector(`tr[data-id="${c.id}"]`);
    if (tr && matches(c)) {
      tr.outerHTML = rowHtml(c);
    } else {
      render();
    }
    const now = tbody.querySelector(`tr[data-id="${c.id}"]`);
    if (now) now.classList.add('flash');
    if (selected === c.id && detail && c.version !== detail.version) openDetail(c.id);
  });

  tbody.addEventListener('click', (e) => {
    const tr = e.target.closest('tr[data-id]');
    if (tr) openDetail(+tr.dataset.id);
  });
  form.addEventListener('submit', (e) => { e.preventDefault(); load(); });
  // A case by its number, whether or not the list holds it ("#123" or "123").
  root.querySelector('#goto').addEventListener('submit', (e) => {
    e.preventDefault();
    const v = e.target.id.value.trim().replace(/^#/, '');
    if (!/^[1-9][0-9]{0,15}$/.test(v)) { ctx.toast(t('board.goto_bad')); return; }
    openDetail(Number(v));
  });
  root.querySelector('#more').addEventListener('click', () => load(true));

  // ---- detail ----
  const aside = root.querySelector('#detail');
  async function openDetail(id) {
    selected = id;
    ctx.seen(id);
    for (const tr of tbody.querySelectorAll('tr')) tr.classList.toggle('selected', +tr.dataset.id === id);
    try {
      detail = await api.get('/api/v1/cases/' + id);
      live.upsert(stripDetail(detail));
      renderDetail();
    } catch (e) {
      // Outside the caller's scope reads as not found, as the server says.
      selected = detail ? detail.id : null;
      if (e.status === 404) ctx.toast(t('board.no_case').replace('{id}', id));
      else ctx.error(e);
    }
  }
  function stripDetail(d) { const c = { ...d }; delete c.reports_list; delete c.history; return c; }

  function renderDetail() {
    const c = detail;
    if (!c) { aside.hidden = true; root.querySelector('#board').classList.remove('with-detail'); dispatchPanel.unmount(); return; }
    aside.hidden = false;
    root.querySelector('#board').classList.add('with-detail');
    const cat = ctx.category(c.category);
    const mayWrite = ctx.me.role !== 'analyst';
    const depts = ctx.departments.filter((d) => d.kind !== 'police' && d.id !== c.department);
    aside.innerHTML = `
      <div class="row" style="justify-content:space-between"><h2>${t('detail.title')} #${c.id}</h2>
        <span><button type="button" id="on-map">${t('detail.on_map')}</button> <button type="button" id="close" data-i18n="detail.close">${t('detail.close')}</button></span></div>
      <section><dl class="preview" style="display:grid;grid-template-columns:100px 1fr;gap:3px 8px">
        <dt class="muted">${t('col.category')}</dt><dd>${esc(nameOf(cat) || c.category)} · ${esc(label('type', c.type))}</dd>
        <dt class="muted">${t('col.status')}</dt><dd id="d-status" data-status="${esc(c.status)}">${esc(label('state', c.status))}</dd>
        <dt class="muted">${t('col.priority')}</dt><dd>${esc(label('prio', c.priority))}</dd>
        <dt class="muted">${t('col.org')}</dt><dd id="d-org">${esc(nameOf(c.org.kind === 'department' ? (ctx.department(c.org.id) || c.org) : c.org))}</dd>
        <dt class="muted">${t('col.deadline')}</dt><dd class="dl" data-id="${c.id}">${countdown(c)}</dd>
        <dt class="muted">${t('detail.escalation')}</dt><dd>${esc(label('kind', c.escalation))}${live.isEscalated(c) ? ` <span class="badge esc">${t('escalated')}</span>` : ''}</dd>
        <dt class="muted">${t('col.place')}</dt><dd>${c.areas.map((a) => esc(a.name)).join(' · ')}</dd>
        <dt class="muted">${t('detail.version')}</dt><dd>${c.version}</dd></dl></section>
      <section id="dispatch-sec"></section>
      ${mayWrite ? `<section><h3>${t('detail.transition')}</h3>
        <input id="note" placeholder="${esc(t('detail.note'))}" style="width:100%;margin-bottom:6px">
        <div class="row" id="transitions">${c.next.map((s) => `<button type="button" data-to="${esc(s)}">${esc(label('state', s))}</button>`).join('') || '—'}</div></section>
      <section><h3>${t('detail.divert')}</h3><div class="row">
        <select id="divert-dept">${c.police ? '' : `<option value="station">${esc(t('detail.divert_station'))}</option>`}${depts.map((d) => `<option value="${esc(d.id)}">${esc(nameOf(d))}</option>`).join('')}</select>
        <button type="button" class="warn" id="divert">${t('detail.divert')}</button></div></section>` : ''}
      <section><h3>${t('detail.reports')} (${c.reports_list.length})</h3>
        ${c.reports_list.map((r) => `<div class="card" style="margin-bottom:6px"><div class="muted">${esc(label('source', r.source))} · ${fmtTime(r.reported_at)}</div>
          <div>${esc(r.text)}</div><div class="muted">${t('detail.caller')}: <span class="caller">${esc(r.caller.name || '—')} ${esc(r.caller.phone || '')}</span>${r.caller.masked ? ' ' + t('detail.masked') : ''}
          ${!r.caller.masked && mayLookUp(ctx, r.caller.phone) ? `<button type="button" class="caller-lookup" data-report="${r.id}">${esc(t('detail.caller_history'))}</button>` : ''}</div>
          <div class="caller-history" data-report="${r.id}" hidden></div></div>`).join('')}</section>
      <section><h3>${t('detail.history')}</h3><table id="history"><tr><th>${t('hist.at')}</th><th>${t('hist.actor')}</th><th>${t('hist.change')}</th><th>${t('hist.note')}</th></tr>
        ${c.history.map((h) => `<tr><td>${fmtTime(h.at)}</td><td>${esc(h.actor)}</td><td>${h.from ? esc(label('state', h.from)) + ' → ' : ''}${esc(label('state', h.to || ''))}</td><td>${esc(h.note || '')}</td></tr>`).join('')}</table></section>`;
    dispatchPanel.mount(aside.querySelector('#dispatch-sec'), c);
    aside.querySelector('#on-map').addEventListener('click', () => ctx.go('map', c.id));
    aside.querySelector('#close').addEventListener('click', () => { detail = null; selected = null; renderDetail(); render(); });
    for (const b of aside.querySelectorAll('[data-to]')) b.addEventListener('click', () => change('transitions', { to: b.dataset.to }));
    // A report's caller: the number's other reports (callers.js), looked up on
    // demand, once per detail shown (each lookup is audited).
    for (const b of aside.querySelectorAll('.caller-lookup')) b.addEventListener('click', async () => {
      const el = aside.querySelector(`.caller-history[data-report="${b.dataset.report}"]`);
      if (el.dataset.loaded) { el.hidden = !el.hidden; return; }
      const r = c.reports_list.find((x) => x.id === +b.dataset.report);
      try {
        renderCallerHistory(el, await lookUpCaller(r.caller.phone), ctx);
        el.dataset.loaded = '1';
      } catch (e) { ctx.error(e); }
    });
    const dv = aside.querySelector('#divert');
    if (dv) dv.addEventListener('click', () => change('divert', { department: aside.querySelector('#divert-dept').value }));
  }

  async function change(what, body) {
    const note = aside.querySelector('#note');
    const payload = { ...body, version: detail.version };
    if (note && note.value.trim()) payload.note = note.value.trim();
    try {
      const c = await api.post(`/api/v1/cases/${detail.id}/${what}`, payload);
      live.upsert(c, 'changed');
      await openDetail(c.id);
    } catch (e) {
      if (e.status === 409 && e.code === 'conflict') { ctx.toast(t('detail.conflict')); openDetail(detail.id); }
      else ctx.error(e);
    }
  }

  setInterval(() => {
    if (root.hidden) return;
    for (const td of root.querySelectorAll('.dl[data-id]')) {
      const c = live.getCase(+td.dataset.id);
      if (c) td.innerHTML = countdown(c);
    }
  }, 1000);
  onLangChange(() => { fillFilters(); render(); renderDetail(); });

  let loaded = false;
  return {
    show(id) {
      if (!loaded) { loaded = true; load(); }
      if (id) openDetail(id);
    },
  };
}
