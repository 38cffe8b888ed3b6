// dispatch.js — dispatch from a case's detail on the case board (派警): the
// nearest available units the server suggests (distance, ETA, why each, and
// why fewer than asked when so), dispatching the chosen ones or by the
// policy (auto), and the case's dispatches with their steps (acknowledged,
// arrived, cleared), which follow the live stream's dispatch.updated and
// unit.updated events. An operator may also record a unit's step for it
// (a unit that radios in instead of using its terminal).
//
// The panel outlives the detail's HTML: the board re-renders a case's detail
// whenever the case changes, and the panel keeps its suggestions and the
// operator's selection for that case across re-renders.
import * as api from './api.js';
import * as live from './live.js';
import { t, label, fmtTime } from './i18n.js';
import { esc } from './dom.js';
import { UNIT_TYPES, unitName, statusBadge, ensureUnits } from './units.js';

const K_DEFAULT = 5;
// What an operator may record next for a unit on an open dispatch.
const NEXT_ACTIONS = { assigned: ['acknowledge', 'arrive', 'clear'], acknowledged: ['arrive', 'clear'], on_scene: ['clear'] };

export function fmtDistance(m) { return m >= 1000 ? (m / 1000).toFixed(1) + ' km' : Math.round(m) + ' m'; }
export function fmtEta(s) {
  s = Math.round(s);
  return s < 60 ? s + ' ' + t('dur.s') : Math.floor(s / 60) + ' ' + t('dur.m') + (s % 60 ? ' ' + (s % 60) + ' ' + t('dur.s') : '');
}

// Why a unit went, in the console's language: the server writes "chosen by
// hand" or "auto: nearest <type>, <m> m, ETA ~<s> s"; anything else as it is.
function reasonText(r) {
  if (!r) return '';
  if (r === 'chosen by hand') return t('dispatch.by_hand');
  const m = /^auto: nearest (\w+), (\d+) m, ETA ~(\d+) s$/.exec(r);
  return m ? `${t('dispatch.by_policy')}: ${label('utype', m[1])} ${fmtDistance(+m[2])} · ${t('dispatch.eta')} ${fmtEta(+m[3])}` : r;
}

// The counts behind a shortfall, the non-zero ones, as text.
function shortfallCounts(x) {
  return ['wrong_status', 'position_too_old', 'no_position', 'outside_radius']
    .filter((k) => x[k]).map((k) => `${t('shortfall.' + k)} ${x[k]}`).join(' · ');
}

export function createDispatchPanel(ctx) {
  const mayWrite = ctx.me.role !== 'analyst';
  // One case at a time: its id, suggestions, selection and the last auto result.
  let st = null, el = null, caseNow = null;

  function reset(c) {
    st = { caseId: c.id, k: K_DEFAULT, type: '', sugg: null, selected: new Set(), autoShort: null, busy: false, err: null };
  }

  async function loadDispatches() {
    if (!st) return;
    const id = st.caseId;
    const r = await api.get(`/api/v1/cases/${id}/dispatches`);
    for (const d of r.dispatches) live.upsertDispatch(d);
    await ensureUnits(r.dispatches.map((d) => d.unit_id));
    if (st && st.caseId === id) renderList();
  }

  async function suggest() {
    if (!st) return;
    const id = st.caseId;
    st.err = null;
    try {
      const r = await api.get('/api/v1/units/nearest' + api.qs({ case_id: id, k: st.k, type: st.type }));
      // Each suggestion names its unit (callsign, type, status): nothing more to fetch.
      for (const x of r.units) live.upsertUnit(x.unit);
      if (!st || st.caseId !== id) return;
      st.sugg = r;
      for (const uid of [...st.selected]) if (!r.units.some((x) => x.unit.id === uid)) st.selected.delete(uid);
    } catch (e) {
      if (!st || st.caseId !== id) return;
      st.sugg = null;
      st.err = e;
    }
    if (st && st.caseId === id) renderSuggest();
  }

  async function dispatch(body) {
    const s = st; // the detail may be closed or moved on while this runs
    s.busy = true;
    renderSuggest();
    try {
      const r = await api.post(`/api/v1/cases/${s.caseId}/dispatch`, body);
      for (const d of r.dispatches) live.upsertDispatch(d, 'changed');
      await ensureUnits(r.dispatches.map((d) => d.unit_id));
      s.selected.clear();
      s.autoShort = body.auto ? (r.unit_shortfall || []) : null;
      ctx.toast(t('dispatch.done') + ' ' + r.dispatches.map((d) => unitName(live.getUnit(d.unit_id))).join('、'));
    } catch (e) {
      if (e.code === 'unit_shortfall') s.autoShort = (e.body && e.body.error && e.body.error.shortfall) || [];
      else if (e.status === 409 && e.body && e.body.error && e.body.error.unit_id)
        ctx.toast(t('dispatch.unit_taken') + ' ' + unitName(live.getUnit(e.body.error.unit_id)));
      else ctx.error(e);
    }
    s.busy = false;
    if (st !== s) return;
    renderList();
    await suggest();
  }

  async function step(unitId, action) {
    try {
      const r = await api.post(`/api/v1/units/${unitId}/status`, { action });
      live.upsertUnit(r.unit, 'changed');
      if (r.dispatch) live.upsertDispatch(r.dispatch, 'changed');
    } catch (e) { ctx.error(e); }
  }

  // ---- rendering ----
  function stepCell(d, at) {
    if (!d[at]) return '<td class="muted">—</td>';
    const s = Math.round((Date.parse(d[at]) - Date.parse(d.dispatched_at)) / 1000);
    return `<td class="step" data-step="${at}">${fmtTime(d[at], false)}<br><span class="muted">+${fmtEta(Math.max(0, s))}</span></td>`;
  }

  function renderList() {
    const box = st && el && el.querySelector('#dispatch-list');
    if (!box) return;
    const list = live.dispatchesOf(st.caseId);
    if (!list.length) { box.innerHTML = `<p class="muted">${esc(t('dispatch.none'))}</p>`; return; }
    box.innerHTML = `<table class="dispatches"><tr><th>${esc(t('dispatch.unit'))}</th><th>${esc(t('col.status'))}</th>
      <th>${esc(t('dstep.dispatched_at'))}</th><th>${esc(t('dstep.acknowledged_at'))}</th><th>${esc(t('dstep.arrived_at'))}</th><th>${esc(t('dstep.cleared_at'))}</th></tr>
      ${list.map((d) => {
        const u = live.getUnit(d.unit_id);
        const acts = mayWrite && live.dispatchOpen(d) ? NEXT_ACTIONS[d.status] || [] : [];
        return `<tr data-dispatch="${d.id}" data-status="${esc(d.status)}" class="dstat-${esc(d.status)}">
          <td><b>${esc(unitName(u) || '#' + d.unit_id)}</b><br><span class="muted">${esc(u ? label('utype', u.type) : '')}</span></td>
          <td><span class="dstat">${esc(label('dstatus', d.status))}</span>${d.escalated ? ` <span class="badge esc">${esc(t('escalated'))}</span>` : ''}</td>
          <td>${fmtTime(d.dispatched_at, false)}</td>${stepCell(d, 'acknowledged_at')}${stepCell(d, 'arrived_at')}${stepCell(d, d.cancelled_at ? 'cancelled_at' : 'cleared_at')}</tr>
          <tr class="dsub" data-dispatch-sub="${d.id}"><td colspan="6"><span class="muted">${esc(reasonText(d.reason))} · ${esc(d.actor)}</span>
          ${acts.map((a) => `<button type="button" class="small" data-step-unit="${d.unit_id}" data-action="${a}">${esc(t('uaction.' + a))}</button>`).join('')}</td></tr>`;
      }).join('')}</table>`;
    for (const b of box.querySelectorAll('[data-step-unit]')) b.addEventListener('click', () => { b.disabled = true; step(+b.dataset.stepUnit, b.dataset.action); });
  }

  function renderSuggest() {
    const box = st && el && el.querySelector('#suggest');
    if (!box) return;
    if (!mayWrite || !caseNow || !live.isOpen(caseNow)) { box.innerHTML = ''; return; }
    const r = st.sugg;
    let html = `<form class="row" id="suggest-form">
      <label>${esc(t('dispatch.type'))}<select name="type"><option value="">${esc(t('board.any'))}</option>${UNIT_TYPES.map((x) => `<option value="${x}" ${st.type === x ? 'selected' : ''}>${esc(label('utype', x))}</option>`).join('')}</select></label>
      <label>${esc(t('dispatch.k'))}<input name="k" type="number" min="1" max="20" value="${st.k}" style="width:4em"></label>
      <button type="submit" id="suggest-btn">${esc(t('dispatch.suggest'))}</button></form>`;
    if (st.err) html += `<p class="error">${esc(st.err.message)}</p>`;
    if (r) {
      html += `<table id="suggestions" class="suggestions"><tr><th></th><th>${esc(t('dispatch.unit'))}</th><th>${esc(t('dispatch.distance'))}</th><th>${esc(t('dispatch.eta'))}</th><th>${esc(t('dispatch.reason'))}</th></tr>
        ${r.units.map((x) => {
          const u = live.getUnit(x.unit.id) || x.unit;
          const free = u.status === 'available';
          return `<tr data-unit="${x.unit.id}" class="${free ? '' : 'taken'}"><td><input type="checkbox" data-pick="${x.unit.id}" ${st.selected.has(x.unit.id) && free ? 'checked' : ''} ${free && !st.busy ? '' : 'disabled'}></td>
            <td><b>${esc(unitName(u))}</b> <span class="muted">${esc(label('utype', u.type))}</span>${free ? '' : ' ' + statusBadge(u.status)}<br><span class="muted">${esc(x.station ? x.station.name : '')}</span></td>
            <td class="dist" data-m="${x.distance_m}">${fmtDistance(x.distance_m)}</td><td class="eta" data-s="${x.eta_s}">${fmtEta(x.eta_s)}</td>
            <td class="reason" data-reason="${esc(x.reason)}">${esc(label('dreason', x.reason))}</td></tr>`;
        }).join('')}</table>`;
      if (!r.units.length) html += `<p class="muted">${esc(t('dispatch.no_units'))}</p>`;
      const sf = r.unit_shortfall;
      if (sf) html += `<p class="shortfall" id="shortfall" data-missing="${sf.missing}">${esc(t('dispatch.shortfall').replace('{n}', sf.missing))}: ${sf.reasons.map((x) => `<span class="badge" data-reason="${esc(x)}">${esc(label('sreason', x))}</span>`).join(' ')}<br><span class="muted">${esc(shortfallCounts(sf))}</span></p>`;
      html += `<p class="muted small">${esc(t('dispatch.eta_note'))}</p>`;
    }
    html += `<div class="row"><button type="button" class="primary" id="dispatch-selected" ${st.selected.size && !st.busy ? '' : 'disabled'}>${esc(t('dispatch.selected'))} (${st.selected.size})</button>
      <button type="button" class="warn" id="dispatch-auto" ${st.busy ? 'disabled' : ''}>${esc(t('dispatch.auto'))}</button></div>`;
    if (st.autoShort) {
      html += st.autoShort.length
        ? `<div class="shortfall" id="auto-shortfall">${esc(t('dispatch.auto_short'))}<ul>${st.autoShort.map((x) => `<li data-type="${esc(x.type)}">${esc(label('utype', x.type))}: ${esc(t('dispatch.found'))} ${x.found}/${x.wanted}` +
          `${shortfallCounts(x) ? ' <span class="muted">(' + esc(shortfallCounts(x)) + ')</span>' : ''}</li>`).join('')}</ul></div>`
        : `<p class="muted" id="auto-shortfall">${esc(t('dispatch.auto_full'))}</p>`;
    }
    box.innerHTML = html;
    const f = box.querySelector('#suggest-form');
    f.addEventListener('submit', (e) => {
      e.preventDefault();
      st.type = f.type.value;
      st.k = Math.min(20, Math.max(1, parseInt(f.k.value, 10) || K_DEFAULT));
      suggest();
    });
    for (const cb of box.querySelectorAll('[data-pick]')) cb.addEventListener('change', () => {
      if (cb.checked) st.selected.add(+cb.dataset.pick); else st.selected.delete(+cb.dataset.pick);
      const b = box.querySelector('#dispatch-selected');
      b.disabled = !st.selected.size;
      b.textContent = `${t('dispatch.selected')} (${st.selected.size})`;
    });
    box.querySelector('#dispatch-selected').addEventListener('click', () => dispatch({ unit_ids: [...st.selected] }));
    box.querySelector('#dispatch-auto').addEventListener('click', () => dispatch({ auto: true }));
  }

  live.subscribeDispatches((kind, d) => {
    if (!st) return;
    if (kind === 'resync') { loadDispatches().catch(() => {}); return; }
    if (d.case_id !== st.caseId) return;
    ensureUnits([d.unit_id]).then(renderList);
  });
  live.subscribeUnits((kind, u) => {
    if (!st || !u) return;
    if (live.dispatchesOf(st.caseId).some((d) => d.unit_id === u.id)) renderList();
    if (st.sugg && st.sugg.units.some((x) => x.unit.id === u.id)) {
      if (u.status !== 'available') st.selected.delete(u.id);
      renderSuggest();
    }
  });

  return {
    /*
     * Draws the panel for case c (the detail as read) into section; the
     * same case again keeps the suggestions and selection, another case
     * starts afresh (its dispatches read, its suggestions asked for).
     */
    mount(section, c) {
      el = section;
      caseNow = c;
      section.innerHTML = `<h3>${esc(t('dispatch.title'))}</h3><div id="dispatch-list"></div><div id="suggest"></div>`;
      const fresh = !st || st.caseId !== c.id;
      if (fresh) reset(c);
      renderList();
      renderSuggest();
      if (fresh) {
        loadDispatches().catch(ctx.error);
        if (mayWrite && live.isOpen(c)) suggest();
      }
    },
    unmount() { el = null; st = null; caseNow = null; },
    refresh: () => suggest(),
  };
}
