// Tern dashboard: a hand-written single-page app over the JSON API (/api/v1). No framework,
// no build step, no request to any other origin (the server's CSP forbids it anyway).
// Routing is by URL fragment: #/page/arg?since=24h&..., so every view is a shareable link.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const session = { csrf: null };
  let refreshTimer = null;
  let renderSeq = 0;

  // ---- formatting ----------------------------------------------------------------------
  const esc = (v) => String(v == null ? '' : v).replace(/[&<>"']/g, (c) => (
    { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  const num = (n) => (n == null ? '—' : Number(n).toLocaleString('en-US'));
  const pct = (x) => (x == null ? '—' : (x * 100).toFixed(x < 0.01 && x > 0 ? 2 : 1) + '%');
  function ms(v) {
    if (v == null) return '—';
    if (v >= 60000) return (v / 60000).toFixed(1) + ' min';
    if (v >= 1000) return (v / 1000).toFixed(2) + ' s';
    return (v >= 100 ? v.toFixed(0) : v.toFixed(1)) + ' ms';
  }
  const mb = (v) => (v == null ? '—' : num(Math.round(v)) + ' MB');
  function usd(v) {
    if (v == null) return '—';
    if (v !== 0 && Math.abs(v) < 0.01) return '$' + v.toFixed(4);
    return '$' + v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }
  function when(s) {
    if (!s) return '—';
    const d = new Date(s);
    return isNaN(d) ? esc(s) : d.toISOString().replace('T', ' ').slice(0, 19) + 'Z';
  }
  const UNITS = { ms, mb, usd, count: num };

  // ---- routing and the time range ------------------------------------------------------
  function route() {
    const h = location.hash.replace(/^#/, '') || '/';
    const qi = h.indexOf('?');
    const path = qi < 0 ? h : h.slice(0, qi);
    const params = new URLSearchParams(qi < 0 ? '' : h.slice(qi + 1));
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    return { page: parts[0] || 'overview', arg: parts[1] || null, params };
  }
  function rangeParams(params) {
    const p = new URLSearchParams();
    const since = params.get('since') || '24h';
    if (since === 'custom') {
      if (params.get('from')) p.set('from', params.get('from'));
      if (params.get('to')) p.set('to', params.get('to'));
    } else if (since !== 'all') {
      p.set('since', since);
    }
    return p;
  }
  // The range part of the current fragment, to carry across links.
  function rangeQuery() {
    const r = route().params;
    const p = new URLSearchParams();
    for (const k of ['since', 'from', 'to']) if (r.get(k)) p.set(k, r.get(k));
    const s = p.toString();
    return s ? '?' + s : '';
  }
  function link(path, extra) {
    const rq = rangeQuery();
    const e = extra ? new URLSearchParams(extra).toString() : '';
    return '#' + path + (rq ? rq + (e ? '&' + e : '') : (e ? '?' + e : ''));
  }
  const fnLink = (name) => '<a href="' + link('/function/' + encodeURIComponent(name)) + '">' + esc(name) + '</a>';
  const errLink = (id, text) => '<a href="' + link('/error/' + encodeURIComponent(id)) + '">' + esc(text || id) + '</a>';
  function invLink(r, text) {
    return '<a href="' + link('/invocation', { g: r.log_group, s: r.log_stream, r: r.request_id }) + '">' + esc(text || r.request_id) + '</a>';
  }
  function setParam(k, v) {
    const r = route();
    if (v == null || v === '') r.params.delete(k); else r.params.set(k, v);
    const q = r.params.toString();
    const base = location.hash.replace(/^#/, '').split('?')[0] || '/';
    history.replaceState(null, '', '#' + base + (q ? '?' + q : ''));
  }

  // ---- API -----------------------------------------------------------------------------
  class Unauthorized extends Error {}
  async function api(path, opts) {
    const o = Object.assign({ credentials: 'same-origin', headers: {} }, opts || {});
    if (o.method && o.method !== 'GET' && session.csrf) o.headers['X-Tern-CSRF'] = session.csrf;
    const r = await fetch(path, o);
    if (r.status === 401) throw new Unauthorized('not logged in');
    const text = await r.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch (_) { body = text; }
    if (!r.ok) throw new Error((body && body.error) || ('HTTP ' + r.status));
    return body;
  }
  const q = (params) => { const s = params.toString(); return s ? '?' + s : ''; };

  // ---- login ---------------------------------------------------------------------------
  function showLogin(msg) {
    $('top').hidden = true;
    $('main').hidden = true;
    $('login').hidden = false;
    $('login-error').textContent = msg || '';
    document.documentElement.dataset.page = 'login';
    document.documentElement.dataset.ready = '1';
    ($('login-user').value ? $('login-token') : $('login-user')).focus();
  }
  async function login(ev) {
    ev.preventDefault();
    $('login-error').textContent = '';
    try {
      const user = $('login-user').value.trim();
      const secret = $('login-token').value;
      const s = await api('/ui/login', {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(user ? { username: user, password: secret } : { token: secret }),
      });
      session.csrf = s.csrf;
      $('login-token').value = '';
      $('login').hidden = true;
      render();
    } catch (e) {
      $('login-error').textContent = e instanceof Unauthorized
        ? ($('login-user').value.trim() ? 'That user name or password is not valid.' : 'That token is not valid.') : e.message;
    }
  }
  async function logout() {
    try { await api('/ui/logout', { method: 'POST' }); } catch (_) { /* ended anyway */ }
    session.csrf = null;
    showLogin('Logged out.');
  }

  // ---- charts (hand-written SVG) ------------------------------------------------------
  const W = 600, H = 190, PL = 62, PR = 8, PT = 8, PB = 20;
  const charts = [];
  // series: [{name, cls, values, dots}], xs: epoch ms (or what `xfmt` formats), unit: key of
  // UNITS, hline: {value, label}. A series with `dots` is drawn as points, not a line.
  function chart(title, xs, series, unit, hline, xfmt) {
    const xf = xfmt || ((t) => when(t).slice(5, 16));
    const id = charts.length;
    const fmt = UNITS[unit] || num;
    let max = 0;
    for (const s of series) for (const v of s.values) if (v != null && v > max) max = v;
    if (hline && hline.value > max) max = hline.value;
    if (max <= 0) max = 1;
    max *= 1.08;
    const n = xs.length;
    const x = (i) => PL + (n <= 1 ? 0 : (i * (W - PL - PR)) / (n - 1));
    const y = (v) => PT + (H - PT - PB) * (1 - v / max);
    let svg = '<svg viewBox="0 0 ' + W + ' ' + H + '" data-chart="' + id + '" role="img" aria-label="' + esc(title) + '">';
    for (let k = 0; k <= 2; k++) {
      const v = (max / 1.08) * k / 2, yy = y(v).toFixed(1);
      svg += '<line class="grid" x1="' + PL + '" x2="' + (W - PR) + '" y1="' + yy + '" y2="' + yy + '"/>';
      svg += '<text x="' + (PL - 4) + '" y="' + (+yy + 3) + '" text-anchor="end">' + esc(fmt(v)) + '</text>';
    }
    if (n > 0) {
      svg += '<text x="' + PL + '" y="' + (H - 4) + '">' + esc(xf(xs[0])) + '</text>';
      svg += '<text x="' + (W - PR) + '" y="' + (H - 4) + '" text-anchor="end">' + esc(xf(xs[n - 1])) + '</text>';
    }
    if (hline && hline.value != null) {
      const yy = y(hline.value).toFixed(1);
      svg += '<line class="line-dash s2" x1="' + PL + '" x2="' + (W - PR) + '" y1="' + yy + '" y2="' + yy + '"/>';
      svg += '<text x="' + (W - PR - 2) + '" y="' + (+yy - 3) + '" text-anchor="end">' + esc(hline.label + ' ' + fmt(hline.value)) + '</text>';
    }
    for (const s of series) {
      if (s.dots) {
        s.values.forEach((v, i) => { if (v != null) svg += '<circle class="dot ' + s.cls + '" cx="' + x(i).toFixed(1) + '" cy="' + y(v).toFixed(1) + '" r="3.5"/>'; });
        continue;
      }
      let pts = '';
      s.values.forEach((v, i) => { if (v != null) pts += x(i).toFixed(1) + ',' + y(v).toFixed(1) + ' '; });
      svg += '<polyline class="' + s.cls + '" points="' + pts + '"/>';
    }
    svg += '<line class="hover" x1="-10" x2="-10" y1="' + PT + '" y2="' + (H - PB) + '"/></svg>';
    charts.push({ xs, series, fmt, hline, xfmt: xfmt || when });
    const legend = series.map((s) => '<span><i class="' + s.cls + '"></i>' + esc(s.name) + '</span>').join('');
    return '<div class="card chart"><div class="title">' + esc(title) + '</div><div class="legend">' + legend + '</div>' + svg + '</div>';
  }
  function chartHover(ev) {
    const sp = ev.target.closest && ev.target.closest('svg[data-spark]');
    if (sp) return sparkHover(ev, sp);
    const svg = ev.target.closest && ev.target.closest('svg[data-chart]');
    const tip = $('tip');
    if (!svg) { tip.hidden = true; return; }
    const c = charts[+svg.dataset.chart];
    if (!c || c.xs.length === 0) return;
    const r = svg.getBoundingClientRect();
    const fx = ((ev.clientX - r.left) / r.width) * W;
    const n = c.xs.length;
    let i = n <= 1 ? 0 : Math.round(((fx - PL) / (W - PL - PR)) * (n - 1));
    i = Math.max(0, Math.min(n - 1, i));
    const xx = PL + (n <= 1 ? 0 : (i * (W - PL - PR)) / (n - 1));
    const line = svg.querySelector('line.hover');
    line.setAttribute('x1', xx); line.setAttribute('x2', xx);
    let text = c.xfmt(c.xs[i]);
    for (const s of c.series) if (!s.dots || s.values[i] != null) text += '\n' + s.name + ': ' + c.fmt(s.values[i]);
    if (c.hline) text += '\n' + c.hline.label + ': ' + c.fmt(c.hline.value);
    tip.textContent = text;
    tip.hidden = false;
    tip.style.left = Math.min(ev.clientX + 12, window.innerWidth - 220) + 'px';
    tip.style.top = (ev.clientY + 12) + 'px';
  }
  function memBar(used, size) {
    if (!used || !size) return '';
    const f = Math.min(1, used / size);
    return '<svg class="membar" viewBox="0 0 60 8"><rect class="bg" width="60" height="8"/><rect class="fg" width="' + (60 * f).toFixed(1) + '" height="8"/></svg>';
  }

  // Sparklines: small SVGs whose hover shows each bucket's values (the shared tooltip).
  const SW = 96, SH = 22;
  const sparks = [];
  // series: [{name, cls, values}], xs: bucket starts (epoch ms), unit: key of UNITS
  function spark(xs, series, unit, label) {
    const id = sparks.length;
    let max = 0;
    for (const s of series) for (const v of s.values) if (v != null && v > max) max = v;
    if (max <= 0) max = 1;
    const n = xs.length;
    const x = (i) => (n <= 1 ? SW / 2 : 1 + (i * (SW - 2)) / (n - 1));
    const y = (v) => 1 + (SH - 2) * (1 - v / max);
    let svg = '<svg class="spark" viewBox="0 0 ' + SW + ' ' + SH + '" data-spark="' + id + '" role="img" aria-label="' + esc(label) + '">';
    for (const s of series) {
      let pts = '';
      s.values.forEach((v, i) => { if (v != null) pts += x(i).toFixed(1) + ',' + y(v).toFixed(1) + ' '; });
      svg += '<polyline class="' + s.cls + '" points="' + pts + '"/>';
    }
    sparks.push({ xs, series, fmt: UNITS[unit] || num });
    return svg + '</svg>';
  }
  function sparkHover(ev, svg) {
    const c = sparks[+svg.dataset.spark];
    const tip = $('tip');
    if (!c || c.xs.length === 0) return;
    const r = svg.getBoundingClientRect();
    const n = c.xs.length;
    const i = Math.max(0, Math.min(n - 1, Math.round(((ev.clientX - r.left) / r.width) * (n - 1))));
    let text = when(c.xs[i]);
    for (const s of c.series) text += '\n' + s.name + ': ' + c.fmt(s.values[i]);
    tip.textContent = text;
    tip.hidden = false;
    tip.style.left = Math.min(ev.clientX + 12, window.innerWidth - 220) + 'px';
    tip.style.top = (ev.clientY + 12) + 'px';
  }

  // ---- pages ---------------------------------------------------------------------------
  const pill = (s) => '<span class="pill ' + esc(s) + '">' + esc(s) + '</span>';
  function table(cols, rowsHtml, attrs) {
    return '<div class="tablewrap"><table ' + (attrs || '') + '><thead><tr>' +
      cols.map((c) => '<th' + (c.n ? ' class="n"' : '') + '>' + esc(c.t || c) + '</th>').join('') +
      '</tr></thead><tbody>' + (rowsHtml || '<tr><td colspan="' + cols.length + '" class="muted">None.</td></tr>') + '</tbody></table></div>';
  }

  // The window just before the chosen one, of the same length (none for "all").
  function previousWindow(rp) {
    let from, to;
    const since = rp.get('since');
    if (since) {
      const m = /^(\d+)([hd])$/.exec(since);
      if (!m) return null;
      to = Date.now();
      from = to - (+m[1]) * (m[2] === 'h' ? 3600e3 : 86400e3);
    } else if (rp.get('from') && rp.get('to')) {
      from = Date.parse(rp.get('from')); to = Date.parse(rp.get('to'));
    } else {
      return null;
    }
    if (!(to > from)) return null;
    const p = new URLSearchParams();
    p.set('from', new Date(from - (to - from)).toISOString());
    p.set('to', new Date(from).toISOString());
    return p;
  }
  function trend(now, before) {
    if (before == null) return '';
    if (!before) return now ? ' <span class="trend up">new</span>' : '';
    const d = (now - before) / before;
    if (Math.abs(d) < 0.005) return ' <span class="trend">±0%</span>';
    return ' <span class="trend ' + (d > 0 ? 'up' : 'down') + '">' + (d > 0 ? '▲ ' : '▼ ') + Math.abs(d * 100).toFixed(0) + '%</span>';
  }

  async function overview(r) {
    const rp = rangeParams(r.params);
    const ep = new URLSearchParams(rp); ep.set('limit', '200');
    const fp = new URLSearchParams(rp); fp.set('limit', '10'); fp.set('sort', 'cost_usd');
    const prev = previousWindow(rp);
    if (prev) prev.set('limit', '0');
    const [fleet, incidents, groups, before] = await Promise.all([
      api('/api/v1/fleet' + q(fp)),
      api('/api/v1/incidents?state=open&limit=20'),
      api('/api/v1/errors' + q(ep)),
      prev ? api('/api/v1/fleet' + q(prev)) : Promise.resolve(null),
    ]);
    const t = fleet.totals;
    const b = before ? before.totals : {};
    const tr = (k) => trend(t[k], before ? b[k] : null);
    const newest = groups.slice().sort((a, b) => (b.first_seen > a.first_seen ? 1 : -1)).slice(0, 10);
    const wins = fleet.quick_wins;
    let h = '<h1>Fleet overview</h1><div class="cards">' +
      stat('Invocations', num(t.invocations), 'invocations', tr('invocations')) +
      stat('Errors', num(t.errors) + ' <span class="muted">(' + pct(t.invocations ? t.errors / t.invocations : 0) + ')</span>', 'errors', tr('errors')) +
      stat('Cost', usd(t.cost_usd) + ' <span class="muted">≈ ' + usd(t.monthly_cost_usd) + '/mo</span>', 'cost', tr('cost_usd')) +
      stat('Cold starts', num(t.cold_starts), 'cold_starts', tr('cold_starts')) +
      stat('Functions', num(t.functions), 'functions') +
      stat('Right-sizing savings', usd(fleet.savings_monthly_usd) + '/mo', 'savings') + '</div>';
    h += '<div class="grid2"><div><h2>Quick wins</h2>' + table(['Function', 'Kind', 'Detail', { t: 'Per month', n: 1 }],
      wins.slice(0, 15).map((w) => '<tr><td>' + fnLink(w.function) + '</td><td>' + esc(w.kind) + '</td><td class="wrap">' + esc(w.detail) + '</td><td class="n">' + usd(w.monthly_usd) + '</td></tr>').join(''), 'id="wins"') + '</div>';
    h += '<div><h2>Top insights</h2><div id="top-insights"><p class="muted">Loading insights…</p></div></div></div>';
    h += '<div class="grid2"><div><h2>Open incidents</h2>' + table(['Policy', 'Function', 'Opened', 'Detail'],
      incidents.map((i) => '<tr><td>' + esc(i.policy) + '</td><td>' + fnLink(i.function) + '</td><td>' + when(i.opened_at) + '</td><td class="wrap">' + esc(i.detail || '') + '</td></tr>').join(''), 'id="incidents"') + '</div>';
    h += '<div><h2>Newest error groups</h2>' + table(['Group', 'Function', { t: 'Count', n: 1 }, 'First seen', 'Status'],
      newest.map((g) => '<tr><td class="wrap">' + errLink(g.id, g.title) + '</td><td>' + fnLink(g.function) + '</td><td class="n">' + num(g.count_in_range) + '</td><td>' + when(g.first_seen) + '</td><td>' + pill(g.status) + '</td></tr>').join(''), 'id="new-errors"') + '</div></div>';
    h += '<h2>Top functions by cost</h2>' + table(['Function', { t: 'Invocations', n: 1 }, { t: 'Errors', n: 1 }, { t: 'Cost', n: 1 }],
      fleet.functions.map((f) => '<tr><td>' + fnLink(f.function) + '</td><td class="n">' + num(f.invocations) + '</td><td class="n">' + num(f.errors) + '</td><td class="n">' + usd(f.cost_usd) + '</td></tr>').join(''), 'id="top-cost"');
    h += '<p class="muted">Refreshes every 30 s. Data covers ' + fleet.observed_hours.toFixed(1) + ' h.</p>';
    const seq = renderSeq;
    return { html: h, refresh: 30000, after: () => topInsights(rp, seq) };
  }
  // The insight catalogue runs every rule over every function: it comes after the page.
  async function topInsights(rp, seq) {
    let list, total;
    const ip = new URLSearchParams(rp);
    ip.set('limit', '10');
    try { ({ insights: list, total } = await api('/api/v1/insights' + q(ip))); } catch (e) {
      if (seq === renderSeq && $('top-insights')) $('top-insights').innerHTML = '<p class="error">' + esc(e.message) + '</p>';
      return;
    }
    const el = $('top-insights');
    if (seq !== renderSeq || !el) return;
    const saving = (i) => i.monthly_saving_usd || 0;
    const sev = { critical: 0, warning: 1, info: 2 };
    list.sort((a, b) => (sev[a.severity] - sev[b.severity]) || (saving(b) - saving(a)));
    el.innerHTML = table(['Insight', 'Function', 'Severity', { t: 'Saves/mo', n: 1 }],
      list.slice(0, 10).map((i) => '<tr><td class="wrap">' + esc(i.summary || i.title) + '</td><td>' + fnLink(i.function) + '</td><td>' + pill(i.severity) +
        '</td><td class="n">' + (saving(i) ? usd(saving(i)) : '—') + '</td></tr>').join(''), 'id="insights"') +
      '<p class="muted">' + num(total) + ' insights in this range.</p>';
  }
  const stat = (k, v, id, t) => '<div class="card stat" data-stat="' + id + '"><div class="k">' + esc(k) + '</div><div class="v">' + v + '</div>' +
    (t ? '<div class="t">' + t + ' <span class="muted">vs the previous period</span></div>' : '') + '</div>';

  // Functions table: sorting, filtering and paging happen on the server (/api/v1/fleet), so a
  // page holds FN_PAGE rows whatever the fleet's size; the table body is re-rendered as one
  // HTML string (no per-row listeners: one delegated click handler).
  const FN_COLS = [
    { k: 'function', t: 'Function' },
    { k: 'invocations', t: 'Invocations', n: 1 },
    { k: 'errors', t: 'Errors', n: 1 },
    { k: 'error_rate', t: 'Error rate', n: 1 },
    { k: 'p50', t: 'p50', n: 1 },
    { k: 'p99', t: 'p99', n: 1 },
    { k: null, t: 'Duration trend' },
    { k: 'memory', t: 'Memory used / size', n: 1 },
    { k: 'cold_starts', t: 'Cold starts', n: 1 },
    { k: 'cost_usd', t: 'Cost', n: 1 },
    { k: 'runtime', t: 'Runtime' },
    { k: 'architecture', t: 'Arch' },
    { k: 'region', t: 'Region' },
  ];
  const FN_FILTERS = ['name', 'runtime', 'architecture', 'region', 'account', 'tag'];
  const FN_PAGE = 100;
  let fnShown = FN_PAGE;
  let fnSeq = 0;
  function fleetParams() {
    const r = route();
    const p = rangeParams(r.params);
    for (const k of FN_FILTERS) if (r.params.get('f_' + k)) p.set(k, r.params.get('f_' + k));
    if (r.params.get('sort')) p.set('sort', r.params.get('sort'));
    if (r.params.get('dir')) p.set('dir', r.params.get('dir'));
    p.set('limit', String(fnShown));
    return p;
  }
  async function functions() {
    fnShown = FN_PAGE;
    const fleet = await api('/api/v1/fleet' + q(fleetParams()));
    const opts = (vals) => vals.map((v) => '<option value="' + esc(v) + '">' + esc(v) + '</option>').join('');
    const sel = (id, k, label) => '<select id="' + id + '" data-filter="' + k + '" aria-label="' + label + '"><option value="">All ' + label + 's</option>' + opts(fleet.facets[k] || []) + '</select>';
    let h = '<h1>Functions</h1><div class="filters">' +
      '<input id="f-name" data-filter="name" type="search" placeholder="Filter by name" aria-label="Filter by name">' +
      sel('f-runtime', 'runtime', 'runtime') + sel('f-arch', 'architecture', 'architecture') +
      sel('f-region', 'region', 'region') + sel('f-account', 'account', 'account') +
      '<input id="f-tag" data-filter="tag" type="search" placeholder="tag key=value" aria-label="Filter by tag">' +
      '<span id="fn-count" class="muted"></span></div>';
    h += '<div class="tablewrap"><table id="fn-table"><thead><tr>' +
      FN_COLS.map((c) => '<th' + (c.k ? ' data-sort="' + c.k + '"' : '') + (c.n ? ' class="n"' : '') + '>' + esc(c.t) + '</th>').join('') +
      '</tr></thead><tbody></tbody></table></div><p><button id="fn-more" type="button" hidden></button></p>';
    return { html: h, after: () => { restoreFilters(); renderFnRows(fleet); } };
  }
  function restoreFilters() {
    const p = route().params;
    for (const el of document.querySelectorAll('[data-filter]')) el.value = p.get('f_' + el.dataset.filter) || '';
  }
  // Fetch the rows for the current sort, filters and page size, then render them.
  async function refreshFnRows() {
    const seq = ++fnSeq;
    try {
      const fleet = await api('/api/v1/fleet' + q(fleetParams()));
      if (seq === fnSeq) renderFnRows(fleet);
    } catch (e) {
      if (e instanceof Unauthorized) return showLogin('Your session ended; log in again.');
      if ($('fn-count')) $('fn-count').textContent = 'Failed: ' + e.message;
    }
  }
  function renderFnRows(fleet) {
    const tb = document.querySelector('#fn-table tbody');
    if (!tb) return;
    sparks.length = 0;
    const xs = fleet.bucket_starts;
    let h = '';
    for (const x of fleet.functions) {
      const trendSvg = spark(xs, [{ name: 'p50', cls: 's1', values: x.spark.p50_ms }, { name: 'p99', cls: 's5', values: x.spark.p99_ms }], 'ms', 'duration p50 and p99 of ' + x.function);
      h += '<tr data-fn="' + esc(x.function) + '"><td>' + fnLink(x.function) + '</td><td class="n">' + num(x.invocations) +
        '</td><td class="n">' + num(x.errors) + '</td><td class="n">' + pct(x.error_rate) + '</td><td class="n">' + ms(x.p50_ms) +
        '</td><td class="n">' + ms(x.p99_ms) + '</td><td>' + trendSvg + '</td><td class="n">' + (x.max_memory_used_mb != null ? num(x.max_memory_used_mb) : '—') + ' / ' + mb(x.memory_size_mb) + memBar(x.max_memory_used_mb, x.memory_size_mb) +
        '</td><td class="n">' + num(x.cold_starts) + '</td><td class="n">' + usd(x.cost_usd) + '</td><td>' + esc(x.runtime || '—') +
        '</td><td>' + esc(x.architecture) + '</td><td>' + esc(x.region) + '</td></tr>';
    }
    tb.innerHTML = h || '<tr><td colspan="' + FN_COLS.length + '" class="muted">No function matches.</td></tr>';
    $('fn-count').textContent = fleet.matched + ' of ' + fleet.totals.functions + ' functions' +
      (fleet.matched > fleet.functions.length ? ' (first ' + fleet.functions.length + ' shown)' : '') +
      ' · trend per ' + ms(fleet.bucket_seconds * 1000);
    const more = $('fn-more');
    more.hidden = fleet.matched <= fleet.functions.length;
    more.textContent = 'Show ' + Math.min(FN_PAGE, fleet.matched - fleet.functions.length) + ' more';
    for (const th of document.querySelectorAll('#fn-table th')) {
      th.classList.toggle('sorted', th.dataset.sort === fleet.sort);
      th.classList.toggle('asc', th.dataset.sort === fleet.sort && fleet.dir === 'asc');
      th.classList.toggle('desc', th.dataset.sort === fleet.sort && fleet.dir === 'desc');
    }
  }

  function bucketFor(fromMs, toMs) {
    const span = toMs - fromMs;
    const choices = [[60e3, '1m'], [300e3, '5m'], [900e3, '15m'], [3600e3, '1h'], [6 * 3600e3, '6h'], [86400e3, '1d']];
    for (const [w, s] of choices) if (span / w <= 200) return s;
    return '7d';
  }
  // The series range: the chosen range, or for "all" the span of stored data.
  async function seriesRange(r) {
    const rp = rangeParams(r.params);
    if (rp.get('since') || rp.get('from')) {
      const now = Date.now();
      let from = now - 86400e3, to = now;
      const since = rp.get('since');
      if (since) { const m = /^(\d+)([hd])$/.exec(since); if (m) from = now - (+m[1]) * (m[2] === 'h' ? 3600e3 : 86400e3); }
      if (rp.get('from')) from = Date.parse(rp.get('from')) || from;
      if (rp.get('to')) to = Date.parse(rp.get('to')) || to;
      const p = new URLSearchParams(rp); p.set('bucket', bucketFor(from, to));
      return p;
    }
    const inv = await api('/api/v1/inventory');
    const p = new URLSearchParams();
    if (inv.data_from_ms == null) { p.set('since', '24h'); p.set('bucket', '1h'); return p; }
    p.set('from', String(inv.data_from_ms));
    p.set('to', String(inv.data_to_ms + 1));
    p.set('bucket', bucketFor(inv.data_from_ms, inv.data_to_ms + 1));
    return p;
  }

  async function fnDetail(r) {
    const name = r.arg;
    const rp = rangeParams(r.params);
    const fp = new URLSearchParams(rp); fp.set('function', name);
    const ip = new URLSearchParams(fp); ip.set('limit', '50');
    const sp = await seriesRange(r);
    const [rep, series, groups, invs, rec] = await Promise.all([
      api('/api/v1/functions' + q(fp)),
      api('/api/v1/functions/' + encodeURIComponent(name) + '/series' + q(sp)),
      api('/api/v1/errors' + q(fp)),
      api('/api/v1/invocations' + q(ip)),
      api('/api/v1/functions/' + encodeURIComponent(name) + '/recommendation' + q(rp)),
    ]);
    const f = rep.functions.find((x) => x.function === name);
    const pts = series.points;
    const xs = pts.map((p) => p.start_ms);
    const v = (fn) => pts.map(fn);
    const d = (k) => v((p) => (p.duration_ms ? p.duration_ms[k] : null));
    const timeout = f ? (f.timeout_ms || f.inferred_timeout_ms) : null;
    let h = '<h1>' + esc(name) + '</h1>';
    if (f) {
      h += '<div class="cards">' + stat('Invocations', num(f.invocations), 'invocations') +
        stat('Errors', num(f.errors) + ' <span class="muted">(' + pct(f.error_rate) + ')</span>', 'errors') +
        stat('Duration p50 / p99', f.duration_ms ? ms(f.duration_ms.p50) + ' / ' + ms(f.duration_ms.p99) : '—', 'duration') +
        stat('Memory used / size', mb(f.max_memory_used_mb) + ' / ' + mb(f.memory_size_mb), 'memory') +
        stat('Cold starts', num(f.cold_starts) + ' <span class="muted">(' + pct(f.cold_start_rate) + ')</span>', 'cold_starts') +
        stat('Cost', usd(f.cost_usd) + ' <span class="muted">≈ ' + usd(f.monthly_cost_usd) + '/mo</span>', 'cost') + '</div>';
      const wins = rep.quick_wins.filter((w) => w.function === name);
      if (wins.length) h += '<h2>Quick wins</h2><ul>' + wins.map((w) => '<li>' + esc(w.detail) + (w.kind === 'over_provisioned_memory' ? (w.monthly_usd > 0 ? ' — saves ' + usd(w.monthly_usd) + '/mo' : '') : ' — ' + usd(w.monthly_usd) + '/mo') + '</li>').join('') + '</ul>';
    } else {
      h += '<p class="muted">No invocations in this range.</p>';
    }
    h += '<h2>Over time <span class="muted">(' + esc(series.bucket_seconds >= 3600 ? series.bucket_seconds / 3600 + ' h' : series.bucket_seconds / 60 + ' min') + ' buckets)</span></h2><div class="grid2">';
    h += chart('Invocations and errors', xs, [{ name: 'invocations', cls: 's1', values: v((p) => p.invocations) }, { name: 'errors', cls: 's2', values: v((p) => p.errors) }], 'count');
    h += chart('Duration', xs, [{ name: 'p50', cls: 's1', values: d('p50') }, { name: 'p95', cls: 's3', values: d('p95') }, { name: 'p99', cls: 's5', values: d('p99') }], 'ms', timeout ? { value: timeout, label: 'timeout' } : null);
    h += chart('Memory', xs, [{ name: 'max used', cls: 's4', values: v((p) => p.max_memory_used_mb) }, { name: 'provisioned', cls: 's3', values: v((p) => p.memory_size_mb) }], 'mb');
    h += chart('Cold starts', xs, [{ name: 'cold starts', cls: 's3', values: v((p) => p.cold_starts) }], 'count');
    h += chart('Cost', xs, [{ name: 'cost', cls: 's5', values: v((p) => p.cost_usd) }], 'usd');
    h += '</div>';
    h += memoryCurve(rec);
    h += '<h2>Error groups</h2>' + groupsTable(groups, 'fn-errors');
    h += '<h2>Recent invocations</h2>' + invTable(invs, 'fn-invocations');
    return { html: h };
  }
  // The memory recommendation: predicted duration and monthly cost per memory size, with the
  // sizes `tern tune` measured as points (its newest run).
  function memoryCurve(rec) {
    let h = '<h2>Memory recommendation</h2>';
    const r = rec.recommendation;
    if (!r) return h + '<p class="muted" id="rec-none">No recommendation: ' + esc(rec.skipped || 'no data') + '.</p>';
    const run = rec.tuning.find((t) => t.points.some((p) => p.architecture === r.architecture_now && p.p50_ms != null));
    const tuned = new Map();
    if (run) for (const p of run.points) if (p.architecture === r.architecture_now) tuned.set(p.memory_mb, p);
    const sizes = Array.from(new Set(r.curve.map((c) => c.memory_mb).concat(Array.from(tuned.keys())))).sort((a, b) => a - b);
    const at = new Map(r.curve.map((c) => [c.memory_mb, c]));
    const pick = (f) => sizes.map((m) => (at.has(m) ? f(at.get(m)) : null));
    const tunedv = (f) => sizes.map((m) => (tuned.has(m) ? f(tuned.get(m)) : null));
    const mbx = (m) => num(m) + ' MB';
    h += '<p id="rec-summary">' + esc(mbx(r.current_memory_mb)) + ' now → <b>' + esc(mbx(r.recommended_memory_mb)) + '</b> (' + esc(r.strategy) + ', ' + esc(r.certainty_label || r.confidence) + ' confidence): ' +
      (r.monthly_saving_usd > 0 ? 'saves ' + usd(r.monthly_saving_usd) + '/mo' : 'no saving at the observed rate') +
      '. Memory floor ' + esc(mbx(r.floor.memory_mb)) + ' (max used ' + esc(mbx(r.floor.max_used_mb)) + ').' +
      (run ? ' Points: <code>tern tune</code> run of ' + when(run.started_at) + '.' : '') + '</p>' +
      (r.summary ? '<p id="rec-decision">' + esc(r.summary) + '</p>' : '') + '<div class="grid2" id="rec-curve">';
    const dur = [{ name: 'p50 predicted', cls: 's1', values: pick((c) => c.p50) }, { name: 'p95 predicted', cls: 's5', values: pick((c) => c.p95) }];
    if (run) dur.push({ name: 'p50 measured', cls: 's3', dots: true, values: tunedv((p) => p.p50_ms) });
    const cost = [{ name: 'predicted', cls: 's4', values: pick((c) => c.monthly_cost_usd) }];
    if (run) cost.push({ name: 'measured', cls: 's3', dots: true, values: tunedv((p) => (p.cost_usd == null ? null : p.cost_usd * r.monthly_invocations)) });
    h += chart('Duration by memory size', sizes, dur, 'ms', null, mbx);
    h += chart('Monthly cost by memory size', sizes, cost, 'usd', null, mbx);
    return h + '</div>';
  }
  // Error groups; with `spark` (from ?spark=true) an occurrence sparkline per group.
  function groupsTable(groups, id) {
    const withSpark = groups.some((g) => g.spark);
    const cols = ['Group', 'Function', { t: 'In range', n: 1 }].concat(withSpark ? ['Occurrences'] : [], [{ t: 'Total', n: 1 }, 'First seen', 'Last seen', 'Status']);
    return table(cols,
      groups.map((g) => '<tr data-group="' + esc(g.id) + '"><td class="wrap">' + errLink(g.id, g.title) + '</td><td>' + fnLink(g.function) +
        '</td><td class="n">' + num(g.count_in_range) + '</td>' +
        (withSpark ? '<td>' + spark(g.spark_starts || [], [{ name: 'occurrences', cls: 's2', values: g.spark || [] }], 'count', 'occurrences of ' + g.title) + '</td>' : '') +
        '<td class="n">' + num(g.count) + '</td><td>' + when(g.first_seen) + '</td><td>' +
        when(g.last_seen) + '</td><td>' + pill(g.status) + '</td></tr>').join(''), 'id="' + id + '"');
  }
  function invTable(invs, id) {
    return table(['Request id', 'Function', 'Start', 'Outcome', { t: 'Duration', n: 1 }, { t: 'Memory', n: 1 }, 'Cold'],
      invs.map((i) => '<tr><td class="mono">' + invLink(i) + '</td><td>' + esc(i.function) + '</td><td>' + when(i.start || i.end) + '</td><td>' +
        pill(i.outcome) + '</td><td class="n">' + ms(i.duration_ms) + '</td><td class="n">' + mb(i.max_memory_used_mb) + '</td><td>' + (i.cold_start ? 'cold' : '') + '</td></tr>').join(''), 'id="' + id + '"');
  }

  async function invocation(r) {
    const p = new URLSearchParams();
    p.set('log_group', r.params.get('g') || '');
    p.set('log_stream', r.params.get('s') || '');
    p.set('request_id', r.params.get('r') || '');
    const i = await api('/api/v1/invocations/logs' + q(p));
    const kv = (k, v) => '<dt>' + esc(k) + '</dt><dd>' + v + '</dd>';
    let h = '<h1 class="mono">' + esc(i.request_id) + '</h1><div class="card"><dl class="kv" id="inv-fields">' +
      kv('Function', fnLink(i.function)) + kv('Outcome', pill(i.outcome) + (i.complete ? '' : ' <span class="muted">(incomplete)</span>')) +
      kv('Start', when(i.start)) + kv('End', when(i.end)) + kv('Duration', ms(i.duration_ms)) + kv('Billed duration', ms(i.billed_duration_ms)) +
      kv('Memory used / size', mb(i.max_memory_used_mb) + ' / ' + mb(i.memory_size_mb)) +
      kv('Cold start', i.cold_start ? 'yes' + (i.init_duration_ms != null ? ' (init ' + ms(i.init_duration_ms) + ')' : '') : 'no') +
      kv('Environment (log stream)', '<span class="mono">' + esc(i.log_stream) + '</span>') + kv('Log group', '<span class="mono">' + esc(i.log_group) + '</span>') +
      kv('Version', esc(i.version || '—')) + kv('Runtime version', esc(i.runtime_version || '—')) +
      kv('X-Ray trace id', '<span class="mono">' + esc(i.xray_trace_id || '—') + '</span>') +
      (i.status ? kv('Status', esc(i.status)) : '') + (i.error_type ? kv('Error type', esc(i.error_type)) : '') + '</dl></div>';
    if (i.error) {
      h += '<h2>Error</h2><pre class="logs">' + esc(i.error.error_type + ': ' + i.error.message + '\n' + (i.error.stack || []).join('\n')) + '</pre>';
    }
    h += '<h2>Log lines (' + (i.logs || []).length + ')</h2><pre class="logs" id="inv-logs">' +
      (i.logs || []).map((l) => esc(l.timestamp.slice(11, 23)) + '  ' + esc(l.message.replace(/\n$/, ''))).join('\n') + '</pre>';
    return { html: h };
  }

  async function errors(r) {
    const rp = rangeParams(r.params);
    const status = r.params.get('status') || '';
    const p = new URLSearchParams(rp); p.set('limit', '500'); p.set('spark', 'true');
    if (status) p.set('status', status);
    const groups = await api('/api/v1/errors' + q(p));
    const opt = (v, t) => '<option value="' + v + '"' + (v === status ? ' selected' : '') + '>' + t + '</option>';
    let h = '<h1>Errors</h1><div class="filters"><select id="err-status" aria-label="Status">' + opt('', 'Any status') + opt('open', 'Open') + opt('resolved', 'Resolved') + opt('muted', 'Muted') +
      '</select><span class="muted">' + groups.length + ' groups</span></div>';
    h += groupsTable(groups, 'error-groups');
    return { html: h };
  }

  async function errorGroup(r) {
    const g = await api('/api/v1/errors/' + encodeURIComponent(r.arg));
    const counts = g.timeline.map((b) => b.count);
    let h = '<h1>' + esc(g.title) + '</h1><div class="card"><dl class="kv" id="group-fields">' +
      '<dt>Status</dt><dd id="group-status">' + pill(g.status) + (g.muted_until ? ' until ' + when(g.muted_until) : '') + '</dd>' +
      '<dt>Function</dt><dd>' + fnLink(g.function) + '</dd><dt>Count</dt><dd>' + num(g.count) + '</dd>' +
      '<dt>First seen</dt><dd>' + when(g.first_seen) + '</dd><dt>Last seen</dt><dd>' + when(g.last_seen) + '</dd>' +
      '<dt>Outcome</dt><dd>' + esc(g.outcome) + '</dd><dt>Culprit</dt><dd class="mono">' + esc(g.culprit || '—') + '</dd>' +
      '<dt>Regressions</dt><dd>' + num(g.regressions) + '</dd><dt>Id</dt><dd class="mono">' + esc(g.id) + '</dd></dl>' +
      '<div class="actions"><button data-status="resolved" class="primary">Resolve</button><button data-status="muted">Mute</button><button data-status="open">Reopen</button></div>' +
      '<p id="group-msg" class="muted"></p></div>';
    const xs = g.timeline.map((b) => Date.parse(b.start));
    h += '<h2>Timeline</h2><div class="grid2">' + chart('Occurrences per ' + ms(g.timeline_bucket_ms), xs, [{ name: 'occurrences', cls: 's2', values: counts }], 'count') + '</div>';
    if (g.frames && g.frames.length) h += '<h2>Stack</h2><pre class="logs">' + esc(g.frames.join('\n')) + '</pre>';
    h += '<h2>Samples</h2>';
    for (const s of g.samples) {
      h += '<div class="card"><p>' + invLink(s) + ' · ' + when(s.time) + ' · ' + pill(s.outcome) + ' · ' + ms(s.duration_ms) + '</p><pre class="logs">' +
        s.logs.map((l) => esc(l.message.replace(/\n$/, ''))).join('\n') + '</pre></div>';
    }
    return { html: h };
  }
  async function setGroupStatus(id, status) {
    const msg = $('group-msg');
    try {
      const g = await api('/api/v1/errors/' + encodeURIComponent(id) + '/status', {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ status }),
      });
      $('group-status').innerHTML = pill(g.status);
      msg.textContent = 'Status is now ' + g.status + '.';
    } catch (e) {
      if (e instanceof Unauthorized) return showLogin('Your session ended; log in again.');
      msg.textContent = 'Failed: ' + e.message;
    }
  }

  async function alerts() {
    const [policies, incidents, sent] = await Promise.all([api('/api/v1/policies'), api('/api/v1/incidents?limit=200'), api('/api/v1/notifications?limit=200')]);
    let h = '<h1>Alerts</h1><h2>Policies</h2>' + table(['Name', 'Type', 'Source', 'Enabled', 'Severity', 'Condition', 'Channels'],
      policies.map((p) => '<tr><td>' + esc(p.name) + '</td><td>' + esc(p.type) + '</td><td>' + esc(p.source) + '</td><td>' + (p.enabled ? 'yes' : 'no') +
        '</td><td>' + pill(p.severity) + '</td><td class="wrap">' + esc(p.type === 'metric' ? p.aggregation + ' ' + p.metric + ' ' + p.comparison + ' ' + p.threshold + ' over ' + p.window_seconds + ' s' : 'on ' + p.on) +
        '</td><td>' + esc((p.channels || []).join(', ')) + '</td></tr>').join(''), 'id="policies"');
    h += '<h2>Incidents</h2>' + table(['Id', 'Policy', 'Function', 'State', 'Opened', 'Resolved', { t: 'Value', n: 1 }, 'Detail'],
      incidents.map((i) => '<tr><td>' + i.id + '</td><td>' + esc(i.policy) + '</td><td>' + fnLink(i.function) + '</td><td>' + pill(i.state) + '</td><td>' + when(i.opened_at) +
        '</td><td>' + when(i.resolved_at) + '</td><td class="n">' + (i.value == null ? '—' : esc(+i.value.toFixed(4))) + '</td><td class="wrap">' + esc(i.detail || '') + '</td></tr>').join(''), 'id="all-incidents"');
    h += '<h2>Notifications</h2>' + table(['Queued', 'What', 'Channel', 'State', { t: 'Attempts', n: 1 }, 'Sent', 'Next attempt', 'Last error'],
      sent.map((n) => '<tr data-notification="' + n.id + '"><td>' + when(n.created_at) + '</td><td class="mono">' + esc(n.key) + '</td><td>' + esc(n.channel) +
        '</td><td>' + pill(n.state) + '</td><td class="n">' + num(n.attempts) + '</td><td>' + when(n.sent_at) + '</td><td>' + when(n.next_attempt_at) +
        '</td><td class="wrap">' + esc(n.last_error || '') + '</td></tr>').join(''), 'id="notifications"');
    return { html: h };
  }

  // ---- search: function names, error group ids, request ids ----------------------------
  const GROUP_ID = /^[0-9a-f]{16}$/i;
  const REQUEST_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  // Go to a fragment; the same one again re-renders (a search for the page you are on).
  function go(h) {
    if (location.hash === h) render(); else location.hash = h;
  }
  async function search(text) {
    const t = text.trim();
    if (!t) return;
    if (GROUP_ID.test(t)) { go(link('/error/' + t.toLowerCase())); return; }
    if (REQUEST_ID.test(t) || (t.length >= 20 && !/\s/.test(t))) {
      try {
        const rows = await api('/api/v1/invocations?request_id=' + encodeURIComponent(t) + '&limit=5');
        if (rows.length) { go(link('/invocation', { g: rows[0].log_group, s: rows[0].log_stream, r: rows[0].request_id })); return; }
      } catch (e) { if (e instanceof Unauthorized) return showLogin(); }
    }
    go(link('/functions', { f_name: t }));
  }

  // ---- the frame -----------------------------------------------------------------------
  const PAGES = { overview, functions, function: fnDetail, invocation, errors, error: errorGroup, alerts };
  async function render() {
    const seq = ++renderSeq;
    clearTimeout(refreshTimer);
    const r = route();
    const page = PAGES[r.page] ? r.page : 'overview';
    document.documentElement.dataset.ready = '0';
    if (!session.csrf) {
      try { session.csrf = (await api('/ui/session')).csrf; } catch (e) { session.csrf = null; }
      if (!session.csrf) return showLogin();
    }
    $('top').hidden = false;
    $('main').hidden = false;
    $('login').hidden = true;
    syncHeader(r);
    charts.length = 0;
    sparks.length = 0;
    try {
      const out = await PAGES[page](r);
      if (seq !== renderSeq) return;
      $('main').innerHTML = out.html;
      if (out.after) out.after();
      if (out.refresh) refreshTimer = setTimeout(render, out.refresh);
      document.title = 'Tern · ' + page;
    } catch (e) {
      if (seq !== renderSeq) return;
      if (e instanceof Unauthorized) { session.csrf = null; return showLogin('Your session ended; log in again.'); }
      $('main').innerHTML = '<h1>Could not load this page</h1><p class="error">' + esc(e.message) + '</p>';
    }
    document.documentElement.dataset.page = page;
    document.documentElement.dataset.ready = '1';
  }
  function syncHeader(r) {
    const since = r.params.get('since') || '24h';
    $('range').value = since;
    $('custom-range').hidden = since !== 'custom';
    if (since === 'custom') {
      $('range-from').value = (r.params.get('from') || '').slice(0, 16);
      $('range-to').value = (r.params.get('to') || '').slice(0, 16);
    }
    const rq = rangeQuery();
    for (const a of document.querySelectorAll('#nav a')) {
      const base = a.getAttribute('href').split('?')[0];
      a.setAttribute('href', base + rq);
      a.classList.toggle('active', a.dataset.nav === r.page || (a.dataset.nav === 'overview' && !PAGES[r.page]) ||
        (a.dataset.nav === 'functions' && (r.page === 'function' || r.page === 'invocation')) || (a.dataset.nav === 'errors' && r.page === 'error'));
    }
  }
  function setRange(since, from, to) {
    const r = route();
    const p = r.params;
    p.set('since', since);
    p.delete('from'); p.delete('to');
    if (since === 'custom') { if (from) p.set('from', from); if (to) p.set('to', to); }
    const base = location.hash.replace(/^#/, '').split('?')[0] || '/';
    location.hash = base + '?' + p.toString();
  }
  const toIso = (v) => (v ? new Date(v).toISOString() : '');

  document.addEventListener('DOMContentLoaded', () => {
    $('login-form').addEventListener('submit', login);
    $('logout').addEventListener('click', logout);
    $('range').addEventListener('change', (e) => {
      if (e.target.value === 'custom') { $('custom-range').hidden = false; return; }
      setRange(e.target.value);
    });
    $('range-form').addEventListener('submit', (e) => {
      e.preventDefault();
      setRange('custom', toIso($('range-from').value), toIso($('range-to').value));
    });
    $('search-form').addEventListener('submit', (e) => { e.preventDefault(); search($('search').value); });
    // A request id pasted anywhere outside a text field jumps to its invocation.
    document.addEventListener('paste', (e) => {
      const tag = (e.target && e.target.tagName) || '';
      if (tag === 'INPUT' || tag === 'TEXTAREA') return;
      const t = (e.clipboardData && e.clipboardData.getData('text')) || '';
      if (REQUEST_ID.test(t.trim())) { e.preventDefault(); search(t); }
    });
    // One delegated handler per event type for everything rendered into <main>.
    const main = $('main');
    main.addEventListener('click', (e) => {
      const th = e.target.closest('#fn-table th[data-sort]');
      if (th) {
        const p = route().params;
        const cur = p.get('sort') || 'cost_usd';
        const dir = cur === th.dataset.sort && p.get('dir') !== 'asc' ? 'asc' : (cur === th.dataset.sort ? 'desc' : (th.classList.contains('n') ? 'desc' : 'asc'));
        setParam('sort', th.dataset.sort); setParam('dir', dir);
        fnShown = FN_PAGE;
        refreshFnRows();
        return;
      }
      if (e.target.id === 'fn-more') { fnShown += FN_PAGE; refreshFnRows(); return; }
      const b = e.target.closest('button[data-status]');
      if (b) setGroupStatus(route().arg, b.dataset.status);
    });
    let filterTimer = null;
    const onFilter = (e) => {
      const el = e.target.closest('[data-filter]');
      if (!el) return;
      clearTimeout(filterTimer);
      // Every filter's value goes to the URL (a change to one may cancel another's timer).
      filterTimer = setTimeout(() => {
        for (const f of document.querySelectorAll('[data-filter]')) setParam('f_' + f.dataset.filter, f.value.trim());
        fnShown = FN_PAGE; refreshFnRows();
      }, 150);
    };
    main.addEventListener('input', onFilter);
    main.addEventListener('change', (e) => {
      onFilter(e);
      if (e.target.id === 'err-status') { setParam('status', e.target.value); render(); }
    });
    main.addEventListener('mousemove', chartHover);
    main.addEventListener('mouseleave', () => { $('tip').hidden = true; });
    window.addEventListener('hashchange', render);
    render();
  });
})();
