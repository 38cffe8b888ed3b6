// live.js — the console's shared picture of cases: what the views loaded,
// kept current by the live stream. Views subscribe; the stream publishes.
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
export function resync() { for (const fn of subs) fn('resync', null); }

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
