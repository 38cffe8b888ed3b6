// alerts.js — first-priority (一级) police cases arriving on the live stream,
// wherever the operator is looking: a pulsing header button counting those
// not yet looked at, the list of them (opening one goes to its detail on the
// board), and, if the settings ask for it, a short two-tone signal.
// Cases loaded by a view, or changed, do not alert: only case.created does.
import { t, label, nameOf, onLangChange, fmtTime } from './i18n.js';
import { esc } from './dom.js';

const KEEP = 50; // a shift does not read more than this many at once

// button: the header's #alerts; list: its drop-down; ctx as the views get it.
export function createAlerts(button, list, ctx) {
  const pending = []; // newest first
  let played = 0;
  let audio = null;

  function render() {
    button.hidden = pending.length === 0;
    button.textContent = `${t('alert.p1')} ${pending.length}`;
    if (!pending.length) list.hidden = true;
    list.innerHTML = `<div class="row" style="justify-content:space-between"><b>${esc(t('alert.title'))}</b>` +
      `<button type="button" class="link" id="alerts-clear">${esc(t('alert.clear'))}</button></div>` +
      pending.map((c) => `<div class="case-mini" data-case="${c.id}"><span class="dot prio-1"></span>#${c.id} ` +
        `${esc(nameOf(ctx.category(c.category)) || c.category)} · ${esc(label('state', c.status))} ` +
        `<span class="muted">${esc((c.areas[0] || {}).name || '')} · ${esc(fmtTime(c.created_at, false))}</span></div>`).join('');
  }

  // Two short tones; a browser that refuses sound before a gesture stays silent.
  function signal() {
    if (!ctx.settings.sound) return;
    try {
      audio = audio || new AudioContext();
      const now = audio.currentTime;
      for (const [i, f] of [[0, 880], [1, 660]]) {
        const osc = audio.createOscillator(), gain = audio.createGain();
        osc.frequency.value = f;
        gain.gain.setValueAtTime(0.15, now + i * 0.25);
        gain.gain.exponentialRampToValueAtTime(0.001, now + i * 0.25 + 0.22);
        osc.connect(gain).connect(audio.destination);
        osc.start(now + i * 0.25);
        osc.stop(now + i * 0.25 + 0.23);
      }
      played++;
    } catch (e) { /* no audio device: the header button still shows it */ }
  }

  function take(c) {
    if (c.priority !== 1 || !c.police || pending.some((x) => x.id === c.id)) return;
    pending.unshift(c);
    pending.length = Math.min(pending.length, KEEP);
    render();
    signal();
  }

  function dismiss(id) {
    const i = pending.findIndex((x) => x.id === id);
    if (i >= 0) pending.splice(i, 1);
    render();
  }

  button.addEventListener('click', () => { list.hidden = !list.hidden; });
  list.addEventListener('click', (e) => {
    if (e.target.closest('#alerts-clear')) { pending.length = 0; render(); return; }
    const row = e.target.closest('[data-case]');
    if (!row) return;
    dismiss(+row.dataset.case);
    list.hidden = true;
    ctx.go('board', +row.dataset.case);
  });
  onLangChange(render);
  render();

  return {
    // A stream event; only a newly created case may alert.
    onEvent(type, c) { if (type === 'case.created') take(c); },
    // A case opened anywhere has been looked at.
    seen: dismiss,
    pending: () => pending.map((c) => c.id),
    played: () => played,
  };
}
