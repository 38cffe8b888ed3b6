// areasearch.js — finding an area by name or code, as the command map and
// the intake desk both do: a search box whose hits are the server's
// (GET /api/v1/areas?q=, so only areas in the caller's scope), and a point
// surely inside a chosen area for whoever needs one place to stand for it.
import * as api from './api.js';
import { t, label } from './i18n.js';
import { esc } from './dom.js';

export const SEARCH_LIMIT = 20;

// A point inside a (multi)polygon, as [lon, lat]: for its largest part, on
// the horizontal line through the middle of the part's bounding box, the
// middle of the widest stretch inside (even-odd over every ring, so holes
// are outside). A centroid can fall outside a concave grid; this cannot.
export function interiorPoint(geom) {
  const polys = geom.type === 'MultiPolygon' ? geom.coordinates : [geom.coordinates];
  let part = null, size = -1, minY = 0, maxY = 0;
  for (const p of polys) {
    const xs = p[0].map((c) => c[0]), ys = p[0].map((c) => c[1]);
    const lo = Math.min(...ys), hi = Math.max(...ys), s = (Math.max(...xs) - Math.min(...xs)) * (hi - lo);
    if (s > size) { part = p; size = s; minY = lo; maxY = hi; }
  }
  // Off the exact middle, so the line does not run through a vertex.
  const y = (minY + maxY) / 2 + (maxY - minY) * 1e-7;
  const xs = [];
  for (const ring of part) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [x1, y1] = ring[j], [x2, y2] = ring[i];
      if ((y1 > y) !== (y2 > y)) xs.push(x1 + (y - y1) * (x2 - x1) / (y2 - y1));
    }
  }
  xs.sort((a, b) => a - b);
  let best = null;
  for (let i = 0; i + 1 < xs.length; i += 2) if (!best || xs[i + 1] - xs[i] > best[1] - best[0]) best = [xs[i], xs[i + 1]];
  return best ? [(best[0] + best[1]) / 2, y] : part[0][0];
}

// Builds the search box in root (div#<id> with an input q, and the hits
// below it); onPick(area) gets the chosen area in full (GET /api/v1/areas/{id},
// with its geometry). Enter takes the first hit, and never submits a form
// the box may sit in. Errors go to ctx.error.
export function createAreaSearch(root, ctx, onPick, { id = 'place-search', placeholder = 'map.search_ph' } = {}) {
  root.innerHTML = `<div id="${id}" class="area-search"><input name="q" type="search" data-i18n-ph="${placeholder}" autocomplete="off" maxlength="30"></div>
    <div class="search-hits" id="${id}-hits"></div>`;
  const input = root.querySelector('input[name=q]'), hitsEl = root.querySelector('.search-hits');
  input.placeholder = t(placeholder);
  let hits = [], seq = 0, timer = null;

  async function search(q) {
    const mine = ++seq;
    if (!q) { hits = []; hitsEl.innerHTML = ''; return; }
    const r = await api.get('/api/v1/areas' + api.qs({ q, limit: SEARCH_LIMIT }));
    if (mine !== seq) return; // typed on meanwhile
    hits = r.areas;
    hitsEl.innerHTML = hits.length
      ? hits.map((a, i) => `<div class="hit" data-hit="${i}" data-kind="${esc(a.kind)}"><span class="kind">${esc(label('kind', a.kind))}</span>${esc(a.name)} <span class="muted">${esc(a.code || '')}</span></div>`).join('') +
        (r.next_cursor ? `<p class="muted">${esc(t('map.search_more').replace('{n}', SEARCH_LIMIT))}</p>` : '')
      : `<p class="muted">${esc(t('map.search_none'))}</p>`;
  }

  async function pick(i) {
    const a = await api.get('/api/v1/areas/' + hits[i].id);
    hitsEl.hidden = true; // what the pick shows is read now; focus shows the hits again
    await onPick(a);
  }

  input.addEventListener('focus', () => { hitsEl.hidden = false; });
  input.addEventListener('input', () => {
    hitsEl.hidden = false;
    clearTimeout(timer);
    timer = setTimeout(() => search(input.value.trim()).catch(ctx.error), 200);
  });
  input.addEventListener('keydown', async (e) => {
    if (e.key !== 'Enter') return;
    e.preventDefault();
    clearTimeout(timer);
    try {
      await search(input.value.trim());
      if (hits[0]) await pick(0);
    } catch (err) { ctx.error(err); }
  });
  hitsEl.addEventListener('click', (e) => {
    const h = e.target.closest('[data-hit]');
    if (h) pick(+h.dataset.hit).catch(ctx.error);
  });
  return { input };
}
