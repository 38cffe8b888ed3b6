// team.js — the grid's team (网格力量) in the command map's place panel: who
// serves the governance grid and the police grid of a clicked place, from the
// people and units lists filtered by area (so, like every list, within the
// caller's jurisdiction and with phones masked):
//   - the governance grid: the people whose area is the grid (its grid
//     worker, volunteers...) and the units based there;
//   - its community's "2+N+X" grid team (units of type grid_team based in the
//     community) with its members;
//   - the police grid: the officers and auxiliaries assigned to it
//     (一村一警两辅). The police grid's list also holds the people of the
//     governance grids fused to it, who are shown under their own grid.
import * as api from './api.js';
import * as live from './live.js';
import { t, label } from './i18n.js';
import { esc } from './dom.js';
import { unitName, statusBadge } from './units.js';

function personRow(p) {
  return `<li class="team-person" data-person="${p.id}"><span class="kind">${esc(label('ptype', p.type))}</span>${esc(p.name)}` +
    ` <span class="muted">${esc(p.phone || '')}</span></li>`;
}

function unitRow(u, members) {
  const who = members && members.length
    ? `<div class="muted team-members">${members.map((m) => esc(m.name) + '（' + esc(label('ptype', m.type)) + '）').join('、')}</div>` : '';
  return `<li class="team-unit" data-unit="${u.id}"><span class="kind">${esc(label('utype', u.type))}</span>${esc(unitName(u))} ${statusBadge(u.status)}${who}</li>`;
}

// Resolves to null when the area is outside the caller's scope (404) or the
// role may not list it: the panel then leaves that part out.
const soft = (p) => p.catch((e) => { if (e.status === 404 || e.status === 403) return null; throw e; });

/*
 * The team's HTML for the areas of a located place (finest first, as
 * /api/v1/locate gives them), or '' when the place has no grid in scope.
 */
export async function teamHtml(areas) {
  const grid = areas.find((a) => a.kind === 'gov_grid');
  const community = areas.find((a) => a.kind === 'community');
  const pgrid = areas.find((a) => a.kind === 'police_grid');
  if (!grid && !pgrid) return '';
  const [gp, gu, cu, pp] = await Promise.all([
    grid ? soft(api.get('/api/v1/people' + api.qs({ area: grid.id, limit: 100 }))) : null,
    grid ? soft(api.get('/api/v1/units' + api.qs({ area: grid.id, limit: 100 }))) : null,
    community ? soft(api.get('/api/v1/units' + api.qs({ area: community.id, type: 'grid_team', limit: 20 }))) : null,
    pgrid ? soft(api.get('/api/v1/people' + api.qs({ area: pgrid.id, limit: 500 }))) : null,
  ]);
  const teams = cu ? cu.units : [];
  const detail = await Promise.all(teams.map((u) => soft(api.get('/api/v1/units/' + u.id))));
  for (const u of [...(gu ? gu.units : []), ...teams]) live.upsertUnit(u);

  let html = `<h3>${esc(t('team.title'))}</h3>`;
  if (grid) {
    html += `<h4>${esc(grid.name)}</h4><ul class="team-list" id="team-grid">`;
    const people = gp ? gp.people : [];
    const own = (gu ? gu.units : []).filter((u) => !teams.some((x) => x.id === u.id));
    html += people.map(personRow).join('') + own.map((u) => unitRow(u)).join('');
    if (!people.length && !own.length) html += `<li class="muted">${esc(t('team.none'))}</li>`;
    html += '</ul>';
  }
  if (teams.length) {
    html += `<h4>${esc(t('team.grid_team'))} · ${esc(community.name)}</h4><ul class="team-list" id="team-community">`;
    html += teams.map((u, i) => unitRow(u, detail[i] ? detail[i].members : null)).join('') + '</ul>';
  }
  if (pgrid && pp) {
    const mine = pp.people.filter((p) => p.area && p.area.id === pgrid.id);
    html += `<h4>${esc(pgrid.name)}</h4><ul class="team-list" id="team-police">`;
    html += mine.length ? mine.map(personRow).join('') : `<li class="muted">${esc(t('team.none'))}</li>`;
    html += '</ul>';
  }
  return html;
}
