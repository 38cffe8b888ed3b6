// live.js — the console's shared picture of cases, units and dispatches:
// what the views loaded, kept current by the live stream. Views subscribe;
// the stream publishes. Each kind has its own subscribers, so a view that
// draws cases never receives a unit.
const cases = new Map();
const subs = new Set();

export function upsert(c, kind = 'loaded') {
  const old = cases.get(c.id);
  if (old && old.version > c.version) return old; // an older event arriving late
  cases.set(c.id, c);
  for (const fn of subs) fn(kind, c);
  return c;
}

export function getCase(id) { return cases.get(id); }
export function allCases() { return [...cases.values()]; }
export function subscribe(fn) { subs.add(fn); return () => subs.delete(fn); }
export function resync() {
  for (const fn of subs) fn('resync', null);
  for (const fn of unitSubs) fn('resync', null);
  for (const fn of dispatchSubs) fn('resync', null);
}

// Open: still to be handled (not resolved, closed or cancelled).
export function isOpen(c) { return !['resolved', 'closed', 'cancelled'].includes(c.status); }

const LEVELS = ['gov_grid', 'station', 'district', 'city'];
// Escalated: the deadline climbed it above where its type starts.
export function isEscalated(c) {
  const start = c.police ? 'station' : 'gov_grid';
  return LEVELS.indexOf(c.escalation) > LEVELS.indexOf(start);
}

// Waiting in its type's first state: its deadline is running.
export function deadlineRunning(c) { return c.status === 'new' || c.status === 'sent'; }

// ---- units ----
// A unit comes from the list (polled: positions are not streamed), from its
// own read, or from a unit.updated event. Its version counts changes of
// state, not moves: the state comes from the higher version, the position
// from whichever report is newer, so a poll answered before a status event
// cannot undo the status, nor an event carrying an old position undo a move.
const units = new Map();
const unitSubs = new Set();

function posAt(u) { return u && u.position ? u.position.at_ms || 0 : -1; }

export function upsertUnit(u, kind = 'loaded') {
  const old = units.get(u.id);
  let next = u;
  if (old) {
    next = old.version > u.version ? { ...old } : { ...old, ...u };
    const newer = posAt(u) >= posAt(old) ? u : old;
    next.position = newer.position;
    if (old.version === next.version && posAt(old) === posAt(next) && old.status === next.status &&
        old.case_id === next.case_id && old.callsign === next.callsign) return old; // nothing new
  }
  units.set(u.id, next);
  for (const fn of unitSubs) fn(kind, next);
  return next;
}
export function getUnit(id) { return units.get(id); }
export function allUnits() { return [...units.values()]; }
export function subscribeUnits(fn) { unitSubs.add(fn); return () => unitSubs.delete(fn); }

// ---- dispatches ----
// A dispatch only moves forward (assigned → acknowledged → on_scene →
// cleared, or cancelled): a late event with an earlier step is dropped.
const dispatches = new Map();
const dispatchSubs = new Set();
const STEP = { assigned: 0, acknowledged: 1, on_scene: 2, cleared: 3, cancelled: 3 };
// A city-wide console sees every dispatch of the day go by: ended ones are
// forgotten, oldest first, past this many (a detail reads its case's again).
const KEEP_DISPATCHES = 5000;

export function upsertDispatch(d, kind = 'loaded') {
  const old = dispatches.get(d.id);
  if (old && (STEP[old.status] ?? 0) > (STEP[d.status] ?? 0)) return old;
  dispatches.set(d.id, d);
  if (dispatches.size > KEEP_DISPATCHES)
    for (const [id, x] of dispatches) {
      if (dispatches.size <= KEEP_DISPATCHES * 0.9) break;
      if (!dispatchOpen(x) && id !== d.id) dispatches.delete(id);
    }
  for (const fn of dispatchSubs) fn(kind, d);
  return d;
}
export function dispatchesOf(caseId) {
  return [...dispatches.values()].filter((d) => d.case_id === caseId).sort((a, b) => a.id - b.id);
}
export function subscribeDispatches(fn) { dispatchSubs.add(fn); return () => dispatchSubs.delete(fn); }
export function dispatchOpen(d) { return d.status !== 'cleared' && d.status !== 'cancelled'; }
