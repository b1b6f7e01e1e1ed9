// The gallery console: plain DOM, no framework. Every value from the server goes on the page through
// textContent or an SVG attribute, never as HTML.
'use strict';

const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';
const LIVE_ROWS = 200;

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function cell(v, cls) {
  const td = el('td', null, cls);
  if (v instanceof Node) td.appendChild(v);
  else td.textContent = v === null || v === undefined ? '' : String(v);
  return td;
}

function row(cells, numeric) {
  const tr = el('tr');
  cells.forEach((c, i) => tr.appendChild(cell(c, numeric && numeric.includes(i) ? 'num' : null)));
  return tr;
}

function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = String(text);
  return e;
}

function when(ms) {
  if (ms === null || ms === undefined) return '';
  const d = new Date(ms);
  return isNaN(d.getTime()) ? String(ms) : d.toISOString().replace('T', ' ').slice(0, 23);
}

function score(s) {
  return typeof s === 'number' ? s.toFixed(3) : '';
}

function showError(msg) {
  const e = $('error');
  e.textContent = msg || '';
  e.hidden = !msg;
}

function token() {
  return sessionStorage.getItem('reid-token') || '';
}

// fetch, JSON in and out; a refused request throws with the server's message and field.
async function api(path, opts) {
  opts = opts || {};
  const headers = Object.assign({}, opts.headers || {});
  if (token()) headers['Authorization'] = 'Bearer ' + token();
  const r = await fetch(path, { method: opts.method || 'GET', headers, body: opts.body });
  let data = null;
  try { data = await r.json(); } catch (_) { data = null; }
  if (!r.ok) {
    const msg = data && data.error ? data.error + (data.field ? ' [' + data.field + ']' : '') : 'HTTP ' + r.status;
    const err = new Error(msg);
    err.status = r.status;
    throw err;
  }
  return data;
}

function clear(tbody) {
  while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
}

// ---- navigation ----
const PAGES = ['live', 'identities', 'search', 'calibration', 'admin'];
const onShow = {};

function show() {
  let page = location.hash.replace('#', '');
  if (!PAGES.includes(page)) page = 'live';
  for (const p of PAGES) {
    $('page-' + p).hidden = p !== page;
    $('nav-' + p).classList.toggle('active', p === page);
  }
  document.body.dataset.page = page;
  showError('');
  if (onShow[page]) onShow[page]();
}

async function refreshStatus() {
  try {
    const s = await api('/api/stats');
    const g = s.gallery;
    $('status').textContent = g.index.rows + ' embeddings, ' + g.index.identities + ' identities, threshold ' +
      Number(g.threshold).toFixed(4) + (s.console.admin ? '' : ' (read-only)');
  } catch (e) {
    $('status').textContent = 'stats: ' + e.message;
  }
}

// ---- Live ----
const cameras = {};

function addDetections(frame) {
  const tbody = $('live-rows').tBodies[0];
  for (const d of frame.detections) {
    const tr = row([
      when(frame.timestamp_ms),
      frame.camera,
      d.track_id === null || d.track_id === undefined ? '' : d.track_id,
      d.unknown ? 'unknown' : (d.identity || ''),
      score(d.score),
    ], [4]);
    tr.dataset.camera = frame.camera;
    tr.dataset.ts = String(frame.timestamp_ms);
    if (d.unknown) tr.className = 'unknown';
    else tr.dataset.identity = d.identity || '';
    tbody.insertBefore(tr, tbody.firstChild);
  }
  while (tbody.rows.length > LIVE_ROWS) tbody.deleteRow(tbody.rows.length - 1);
}

function showRates(rates) {
  const tbody = $('cameras').tBodies[0];
  clear(tbody);
  for (const [cam, r] of Object.entries(rates)) {
    const tr = row([cam, r.detections_per_s.toFixed(1), r.frames_per_s.toFixed(1), r.identified, r.unknown, when(r.last_ms)],
      [1, 2, 3, 4]);
    tr.dataset.camera = cam;
    tbody.appendChild(tr);
  }
}

function forgetOnPage(what) {
  const tbody = $('live-rows').tBodies[0];
  for (const tr of Array.from(tbody.rows)) {
    const ts = Number(tr.dataset.ts);
    let gone = false;
    if (what.identity !== undefined && what.identity !== null) gone = tr.dataset.identity === what.identity;
    else if (what.all) gone = !what.camera || tr.dataset.camera === what.camera;
    else if (what.from_ms !== undefined || what.to_ms !== undefined) {
      const from = what.from_ms === null || what.from_ms === undefined ? -Infinity : what.from_ms;
      const to = what.to_ms === null || what.to_ms === undefined ? Infinity : what.to_ms;
      gone = ts >= from && ts <= to && (!what.camera || tr.dataset.camera === what.camera);
    }
    if (gone) tr.remove();
  }
  for (const tr of Array.from($('search-results').tBodies[0].rows)) {
    if (what.identity !== undefined && tr.dataset.identity === what.identity) tr.remove();
  }
  if (what.identity !== undefined && $('timeline').dataset.identity === what.identity) $('timeline').hidden = true;
  loadIdentities();
  refreshStatus();
}

function connectLive() {
  const source = new EventSource('/api/live');
  source.addEventListener('open', () => {
    $('live-state').textContent = 'connected';
    document.body.dataset.live = 'connected';
  });
  source.addEventListener('error', () => {
    $('live-state').textContent = 'reconnecting';
    document.body.dataset.live = 'reconnecting';
  });
  source.addEventListener('identified', (ev) => {
    try { addDetections(JSON.parse(ev.data)); } catch (e) { showError('live: ' + e.message); }
  });
  source.addEventListener('rates', (ev) => {
    try { showRates(JSON.parse(ev.data)); } catch (e) { showError('live: ' + e.message); }
  });
  source.addEventListener('forgotten', (ev) => {
    try { forgetOnPage(JSON.parse(ev.data)); } catch (e) { showError('live: ' + e.message); }
  });
  source.addEventListener('lagged', (ev) => {
    $('live-state').textContent = 'connected (skipped ' + ev.data + ' messages while behind)';
  });
}

// ---- Identities ----
async function loadIdentities() {
  try {
    const data = await api('/api/identities');
    const tbody = $('identities').tBodies[0];
    clear(tbody);
    for (const s of data.identities) {
      const open = el('button', s.identity, 'link');
      open.type = 'button';
      open.addEventListener('click', () => loadTimeline(s.identity));
      const perCamera = Object.entries(s.cameras).map(([c, n]) => c + ': ' + n).join(', ');
      const tr = row([open, s.enrolled, s.sightings, perCamera, when(s.first_seen_ms), when(s.last_seen_ms)], [1, 2]);
      tr.dataset.identity = s.identity;
      tbody.appendChild(tr);
    }
    document.body.dataset.identities = String(data.identities.length);
  } catch (e) {
    showError('identities: ' + e.message);
  }
}

async function loadTimeline(identity) {
  try {
    const data = await api('/api/identities/' + encodeURIComponent(identity));
    const box = $('timeline');
    box.hidden = false;
    box.dataset.identity = identity;
    $('timeline-title').textContent = identity + ': ' + data.sightings.length + ' embeddings';
    drawTimeline(data.sightings);
    const tbody = $('sightings').tBodies[0];
    clear(tbody);
    for (const s of data.sightings.slice().reverse()) {
      tbody.appendChild(row([when(s.timestamp_ms), s.camera || '', s.track_id === null ? '' : s.track_id, s.kind, s.id]));
    }
  } catch (e) {
    showError('sightings: ' + e.message);
  }
}

function drawTimeline(list) {
  const g = $('timeline-svg');
  while (g.firstChild) g.removeChild(g.firstChild);
  if (!list.length) return;
  const cams = Array.from(new Set(list.map((s) => s.camera || '-'))).sort();
  const t0 = Math.min(...list.map((s) => s.timestamp_ms));
  const t1 = Math.max(...list.map((s) => s.timestamp_ms));
  const left = 90, right = 780, top = 20, lane = Math.min(30, 120 / cams.length);
  const x = (t) => (t1 === t0 ? (left + right) / 2 : left + (right - left) * (t - t0) / (t1 - t0));
  cams.forEach((c, i) => {
    const y = top + lane * i + lane / 2;
    g.appendChild(svg('text', { x: 4, y: y + 4 }, c));
    g.appendChild(svg('line', { x1: left, x2: right, y1: y, y2: y, stroke: '#d8dce3' }));
  });
  for (const s of list) {
    const y = top + lane * cams.indexOf(s.camera || '-') + lane / 2;
    const fill = s.kind === 'enrolled' ? '#1f5fbf' : '#2e9d5b';
    g.appendChild(svg('circle', { cx: x(s.timestamp_ms).toFixed(1), cy: y, r: 4, fill }));
  }
  g.appendChild(svg('text', { x: left, y: 155 }, when(t0)));
  g.appendChild(svg('text', { x: right, y: 155, 'text-anchor': 'end' }, when(t1)));
}

// ---- Search ----
async function search(ev) {
  ev.preventDefault();
  const file = $('search-file').files[0];
  if (!file) { showError('search: choose an image file first'); return; }
  const k = Number($('search-k').value) || 10;
  const rerank = $('search-rerank').checked;
  $('search-info').textContent = 'searching...';
  try {
    const data = await api('/api/search?k=' + k + (rerank ? '&rerank=true' : ''),
      { method: 'POST', body: file, headers: { 'Content-Type': file.type || 'application/octet-stream' } });
    showError('');
    const r = data.result;
    const verdict = r.unknown ? 'unknown (best ' + (r.best_identity || 'none') + ' ' + score(r.best_score) + ')'
      : r.best_identity + ' ' + score(r.best_score);
    $('search-info').textContent = 'answer: ' + verdict + ' | model ' + data.model + ' | embed ' +
      data.embed_ms.toFixed(1) + ' ms, search ' + data.search_ms.toFixed(1) + ' ms';
    const tbody = $('search-results').tBodies[0];
    clear(tbody);
    r.matches.forEach((m, i) => {
      const who = m.identity || (m.matched_identity ? m.matched_identity + ' (sighting)' : '(unknown sighting)');
      const tr = row([i + 1, who, score(m.score), m.camera || '', when(m.timestamp_ms),
        m.track_id === null || m.track_id === undefined ? '' : m.track_id], [0, 2]);
      tr.dataset.identity = m.identity || m.matched_identity || '';
      tbody.appendChild(tr);
    });
    document.body.dataset.searched = String(Date.now());
  } catch (e) {
    $('search-info').textContent = '';
    showError('search: ' + e.message);
    document.body.dataset.searched = 'error';
  }
}

// ---- Calibration ----
async function loadCalibration() {
  const g = $('calibration-svg');
  while (g.firstChild) g.removeChild(g.firstChild);
  try {
    const data = await api('/api/calibration');
    if (!data.curve) { $('calibration-info').textContent = data.hint; return; }
    const c = data.curve;
    $('calibration-info').textContent = 'Threshold ' + c.chosen.threshold.toFixed(4) + ' for a false-match rate of at most ' +
      c.target_fmr + ': measured false-match ' + c.chosen.false_match_rate.toFixed(4) + ', false-non-match ' +
      c.chosen.false_non_match_rate.toFixed(4) + ' (' + c.chosen.genuine + ' genuine, ' + c.chosen.impostor +
      ' impostor pairs). Serving threshold: ' + Number(data.serving_threshold).toFixed(4) + '.';
    drawCalibration(g, c, data.serving_threshold);
  } catch (e) {
    showError('calibration: ' + e.message);
  }
}

function axes(g, x0, y0, w, h, xlabel, ylabel, xmin, xmax) {
  g.appendChild(svg('rect', { x: x0, y: y0, width: w, height: h, fill: 'none', stroke: '#8891a1' }));
  for (let i = 0; i <= 4; i++) {
    const y = y0 + h - h * i / 4;
    g.appendChild(svg('line', { x1: x0, x2: x0 + w, y1: y, y2: y, stroke: '#eef1f5' }));
    g.appendChild(svg('text', { x: x0 - 6, y: y + 4, 'text-anchor': 'end' }, (i / 4).toFixed(2)));
    const xv = xmin + (xmax - xmin) * i / 4;
    g.appendChild(svg('text', { x: x0 + w * i / 4, y: y0 + h + 16, 'text-anchor': 'middle' }, xv.toFixed(2)));
  }
  g.appendChild(svg('text', { x: x0 + w / 2, y: y0 + h + 34, 'text-anchor': 'middle' }, xlabel));
  g.appendChild(svg('text', { x: x0, y: y0 - 8 }, ylabel));
}

function polyline(g, pts, color, dash) {
  const attrs = { points: pts.map((p) => p[0].toFixed(1) + ',' + p[1].toFixed(1)).join(' '), fill: 'none', stroke: color,
    'stroke-width': 2 };
  if (dash) attrs['stroke-dasharray'] = dash;
  g.appendChild(svg('polyline', attrs));
}

function drawCalibration(g, c, serving) {
  const P = c.points;
  if (!P.length) return;
  // Left: true-match rate against false-match rate (ROC), the chosen threshold marked.
  const [ax, ay, aw, ah] = [60, 30, 300, 300];
  axes(g, ax, ay, aw, ah, 'false-match rate', 'true-match rate', 0, 1);
  polyline(g, P.map((p) => [ax + aw * p.false_match_rate, ay + ah - ah * p.true_match_rate]), '#1f5fbf');
  const cx = ax + aw * c.chosen.false_match_rate, cy = ay + ah - ah * (1 - c.chosen.false_non_match_rate);
  g.appendChild(svg('circle', { cx, cy, r: 5, fill: '#d9480f' }));
  // Right: both rates against the threshold, the chosen and serving thresholds as vertical lines.
  const [bx, by, bw, bh] = [470, 30, 320, 300];
  const t0 = P[0].threshold, t1 = P[P.length - 1].threshold;
  const tx = (t) => bx + (t1 === t0 ? bw / 2 : bw * (t - t0) / (t1 - t0));
  axes(g, bx, by, bw, bh, 'threshold (cosine)', 'rate', t0, t1);
  polyline(g, P.map((p) => [tx(p.threshold), by + bh - bh * p.true_match_rate]), '#1f5fbf');
  polyline(g, P.map((p) => [tx(p.threshold), by + bh - bh * p.false_match_rate]), '#c92a2a');
  const mark = (t, color, label, dy) => {
    if (t < t0 || t > t1) return;
    g.appendChild(svg('line', { x1: tx(t), x2: tx(t), y1: by, y2: by + bh, stroke: color, 'stroke-dasharray': '4 3' }));
    g.appendChild(svg('text', { x: tx(t) + 4, y: by + 14 + dy }, label));
  };
  mark(c.chosen.threshold, '#d9480f', 'chosen', 0);
  mark(serving, '#2e9d5b', 'serving', 14);
  g.appendChild(svg('text', { x: bx + bw, y: by + bh + 34, 'text-anchor': 'end', fill: '#1f5fbf' }, 'true-match rate'));
  g.appendChild(svg('text', { x: bx, y: by + bh + 34, fill: '#c92a2a' }, 'false-match rate'));
  document.body.dataset.calibration = 'drawn';
}

// ---- Admin ----
async function checkToken() {
  try {
    const a = await api('/api/auth');
    $('admin-state').textContent = !a.admin_enabled ? 'admin actions are off on this server (read-only)'
      : a.admin ? 'operator token accepted' : (token() ? 'token not accepted' : 'no token: read-only');
    document.body.dataset.admin = a.admin ? 'yes' : 'no';
  } catch (e) {
    showError('auth: ' + e.message);
  }
}

function adminResult(text) {
  $('admin-result').textContent = text;
}

async function adminPost(path, body, done) {
  try {
    const r = await api(path, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
    showError('');
    adminResult(done(r));
  } catch (e) {
    adminResult('refused: ' + e.message);
    showError(path + ': ' + e.message);
  }
}

async function loadUnknown() {
  try {
    const data = await api('/api/unknown');
    const tbody = $('unknown').tBodies[0];
    clear(tbody);
    for (const t of data.tracks.slice(0, 200)) {
      const form = el('form');
      const name = el('input');
      name.placeholder = 'identity';
      const go = el('button', 'Label');
      go.type = 'submit';
      form.append(name, go);
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        adminPost('/api/label', { camera: t.camera, track_id: t.track_id, identity: name.value },
          (r) => 'labelled: ' + r.enrolled + ' embeddings enrolled, ' + r.marked + ' sightings attributed')
          .then(() => { loadUnknown(); loadIdentities(); });
      });
      tbody.appendChild(row([t.camera || '', t.track_id === null ? '' : t.track_id, t.count, when(t.first_seen_ms),
        when(t.last_seen_ms), form], [2]));
    }
  } catch (e) {
    showError('unknown tracks: ' + e.message);
  }
}

function localMs(value) {
  if (!value) return null;
  const t = new Date(value).getTime();
  return isNaN(t) ? null : t;
}

function setupAdmin() {
  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    sessionStorage.setItem('reid-token', $('token').value.trim());
    $('token').value = '';
    checkToken();
  });
  $('forget-identity-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const identity = $('forget-identity').value;
    adminPost('/api/forget', { identity }, (r) => 'forgotten: ' + r.removed + ' embeddings removed');
  });
  $('forget-range-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const body = { from_ms: localMs($('forget-from').value), to_ms: localMs($('forget-to').value) };
    if ($('forget-camera').value) body.camera = $('forget-camera').value;
    adminPost('/api/forget', body, (r) => 'forgotten: ' + r.removed + ' embeddings removed');
  });
  $('unknown-refresh').addEventListener('click', loadUnknown);
}

// ---- start ----
onShow.identities = loadIdentities;
onShow.calibration = loadCalibration;
onShow.admin = () => { checkToken(); loadUnknown(); };
$('identities-refresh').addEventListener('click', loadIdentities);
$('search-form').addEventListener('submit', search);
setupAdmin();
window.addEventListener('hashchange', show);
connectLive();
refreshStatus();
show();
document.body.dataset.ready = 'yes';
