// coord.js — WGS-84 → GCJ-02 for drawing on an Amap-style (GCJ-02) base map.
// The same published formula as the server's src/geo/coord.c (the server
// converts clicks back: locate and reports take crs=gcj02).
const A = 6378245.0, EE = 0.00669342162296594323;

function outOfChina(lon, lat) {
  return !(lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271);
}
function tLat(x, y) {
  let r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  r += (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
  r += (20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin(y / 3.0 * Math.PI)) * 2.0 / 3.0;
  r += (160.0 * Math.sin(y / 12.0 * Math.PI) + 320.0 * Math.sin(y * Math.PI / 30.0)) * 2.0 / 3.0;
  return r;
}
function tLon(x, y) {
  let r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  r += (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
  r += (20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin(x / 3.0 * Math.PI)) * 2.0 / 3.0;
  r += (150.0 * Math.sin(x / 12.0 * Math.PI) + 300.0 * Math.sin(x / 30.0 * Math.PI)) * 2.0 / 3.0;
  return r;
}

export function wgs84ToGcj02(lon, lat) {
  if (outOfChina(lon, lat)) return [lon, lat];
  let dLon = tLon(lon - 105.0, lat - 35.0), dLat = tLat(lon - 105.0, lat - 35.0);
  const rad = lat / 180.0 * Math.PI;
  let magic = Math.sin(rad);
  magic = 1 - EE * magic * magic;
  const sq = Math.sqrt(magic);
  dLon = dLon * 180.0 / (A / sq * Math.cos(rad) * Math.PI);
  dLat = dLat * 180.0 / (A * (1 - EE) / (magic * sq) * Math.PI);
  return [lon + dLon, lat + dLat];
}

// The map's display datum (settings): 'wgs84' draws as is, 'gcj02' shifts.
let displayCrs = 'wgs84';
export function setDisplayCrs(c) { displayCrs = c === 'gcj02' ? 'gcj02' : 'wgs84'; }
export function getDisplayCrs() { return displayCrs; }

// A WGS-84 point as a Leaflet [lat, lon] in the display datum.
export function toDisplay(lon, lat) {
  if (displayCrs === 'gcj02') { const p = wgs84ToGcj02(lon, lat); return [p[1], p[0]]; }
  return [lat, lon];
}

// The display datum is within ~0.01° of WGS-84 (GCJ-02 shifts by a few
// hundred metres), so a box grown by that much in WGS-84 covers a view.
const DATUM_SLACK = 0.01;

// The WGS-84 box [w, s, e, n] that covers Leaflet bounds drawn in the
// display datum, clamped to the globe: what a bbox= query asks for.
export function queryBox(bounds) {
  const s = displayCrs === 'gcj02' ? DATUM_SLACK : 0;
  return [bounds.getWest() - s, bounds.getSouth() - s, bounds.getEast() + s, bounds.getNorth() + s]
    .map((v, i) => +Math.max(i % 2 ? -90 : -180, Math.min(i % 2 ? 90 : 180, v)).toFixed(5));
}

// Converts a GeoJSON geometry's positions in place into the display datum.
export function geometryToDisplay(geom) {
  if (displayCrs !== 'gcj02' || !geom) return geom;
  const conv = (c) => (typeof c[0] === 'number' ? wgs84ToGcj02(c[0], c[1]) : c.map(conv));
  geom.coordinates = conv(geom.coordinates);
  return geom;
}
