// kube-gitops ui: a view of the API's own data. Every text from the cluster goes into the page
// with textContent or as an attribute value set by setAttribute, never as markup.
'use strict';
(() => {
  const PAGE = 100; // rows the overview draws at once: thousands of apps stay fast
  const state = {
    apps: new Map(), sorted: null, promotions: new Map(),
    filter: { q: '', sync: '', health: '' }, page: 0,
    view: null, loading: true, queued: [], timer: 0,
  };

  const $ = (id) => document.getElementById(id);
  const enc = encodeURIComponent;
  const key = (ns, name) => ns + '/' + name;

  // el builds an element; attrs values are set with setAttribute (data) or as listeners
  // (functions of this file only); children are nodes or text.
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (typeof v === 'function') e.addEventListener(k, v);
      else if (k === 'class') e.className = v;
      else if (v === true) e.setAttribute(k, '');
      else if (v !== false && v != null) e.setAttribute(k, String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c == null || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function badge(value) {
    return el('span', { class: 'badge s-' + String(value || 'Unknown').replace(/[^A-Za-z]/g, '') }, value || 'Unknown');
  }

  function appHref(ns, name) { return '#/app/' + enc(ns) + '/' + enc(name); }

  function when(t) {
    if (!t) return '';
    const d = new Date(t);
    if (isNaN(d)) return String(t);
    const s = Math.round((Date.now() - d) / 1000);
    if (s < 60) return s + 's ago';
    if (s < 3600) return Math.floor(s / 60) + 'm ago';
    if (s < 86400) return Math.floor(s / 3600) + 'h ago';
    return Math.floor(s / 86400) + 'd ago';
  }

  function short(rev) { return rev ? String(rev).slice(0, 7) : ''; }

  // The session secret lives in this tab only (sessionStorage is per origin, port included) and
  // goes out as a header, never as a cookie: cookies ignore ports, so another local user's server
  // on 127.0.0.1 would get it.
  const SESSION_HEADER = 'X-Kube-Gitops-Session';
  const SESSION_KEY = 'kube-gitops-session';
  const REOPEN = 'Open the URL printed by kubectl gitops ui (run it again for a new one).';
  let session = sessionStorage.getItem(SESSION_KEY) || '';

  async function request(path, opts) {
    const r = await fetch(path, Object.assign({}, opts, { credentials: 'omit' }));
    const text = await r.text();
    let body = null;
    try { body = JSON.parse(text); } catch (_) { /* not JSON: the guard's plain-text refusal */ }
    if (!r.ok) {
      const err = new Error((body && body.error) || text.trim() || (r.status + ' ' + r.statusText));
      err.status = r.status;
      throw err;
    }
    return body;
  }

  // startSession trades the URL's one-time token for the session secret, takes the token out of
  // the address bar, and tells whether this tab has a session.
  async function startSession() {
    const token = new URLSearchParams(location.search).get('token');
    if (token) {
      history.replaceState(null, '', '/' + location.hash);
      try {
        const body = await request('/api/session', { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify({ token }) });
        session = body.session;
        sessionStorage.setItem(SESSION_KEY, session);
      } catch (e) {
        if (!session) return noSession(e.message);
      }
    }
    return session ? true : noSession('This tab has no session. ' + REOPEN);
  }

  function noSession(text) {
    $('main').replaceChildren(el('p', { class: 'error', id: 'no-session' }, text));
    $('live').textContent = 'not connected';
    return false;
  }

  function api(path, opts) {
    opts = opts || {};
    const headers = Object.assign({ Accept: 'application/json' }, opts.headers, { [SESSION_HEADER]: session });
    return request(path, Object.assign({}, opts, { headers }));
  }

  function post(path, data) {
    return api(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(data) });
  }

  function notice(text, bad) {
    const n = $('notice');
    n.textContent = text;
    n.className = bad ? 'bad' : 'good';
    n.hidden = false;
  }

  function confirmDialog(title, body) {
    return new Promise((resolve) => {
      const d = $('confirm');
      $('confirm-title').textContent = title;
      $('confirm-body').replaceChildren(...body);
      const done = (v) => {
        $('confirm-ok').onclick = $('confirm-cancel').onclick = d.oncancel = null;
        if (d.open) d.close();
        resolve(v);
      };
      $('confirm-ok').onclick = () => done(true);
      $('confirm-cancel').onclick = () => done(false);
      d.oncancel = () => done(false);
      d.showModal();
    });
  }

  function section(title, id, ...content) {
    return el('section', { class: 'card', id }, el('h2', {}, title), ...content);
  }

  function table(id, head, rows, empty) {
    if (!rows.length) return el('p', { class: 'muted', id }, empty);
    return el('div', { class: 'scroll' }, el('table', { id },
      el('thead', {}, el('tr', {}, head.map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, rows)));
  }

  function cell(label, ...content) { return el('td', { 'data-label': label }, ...content); }

  // ---- live updates --------------------------------------------------------------------

  function connect() {
    // EventSource cannot set headers: the session goes in the query, for this stream only.
    const es = new EventSource('/api/events?session=' + enc(session));
    es.onopen = () => {
      $('live').textContent = 'live';
      $('live').className = 'live on';
      reloadAll(); // first load, and after a reconnect whatever was missed
    };
    es.onerror = () => {
      $('live').textContent = 'reconnecting…';
      $('live').className = 'live off';
    };
    es.onmessage = (ev) => {
      let c;
      try { c = JSON.parse(ev.data); } catch (_) { return; }
      if (state.loading) state.queued.push(c); else apply(c);
    };
  }

  async function reloadAll() {
    state.loading = true;
    try {
      const [a, p] = await Promise.all([api('/api/apps'), api('/api/promotions')]);
      $('scope').textContent = a.scope;
      state.apps = new Map(a.apps.map((x) => [key(x.namespace, x.name), x]));
      state.promotions = new Map(p.promotions.map((x) => [key(x.namespace, x.name), x]));
      state.sorted = null;
    } catch (e) {
      notice('Cannot load: ' + e.message, true);
    }
    state.loading = false;
    const queued = state.queued;
    state.queued = [];
    queued.forEach(apply);
    redraw(null);
  }

  function apply(c) {
    let changed = null;
    if (c.type === 'app' && c.app) {
      changed = key(c.app.namespace, c.app.name);
      if (c.op === 'delete') state.apps.delete(changed); else state.apps.set(changed, c.app);
      state.sorted = null;
    } else if (c.type === 'promotion' && c.promotion) {
      const k = key(c.promotion.namespace, c.promotion.name);
      if (c.op === 'delete') state.promotions.delete(k); else state.promotions.set(k, c.promotion);
      changed = c.promotion.namespace + '/' + c.promotion.desiredState;
      if (state.view && state.view.kind === 'promotion' && state.view.key === k) changed = k;
    }
    redraw(changed);
  }

  // redraw repaints what the open view shows of a change, at most every 100 ms.
  function redraw(changed) {
    const v = state.view;
    if (!v) return;
    if (changed && (v.kind === 'app' || v.kind === 'promotion') && v.key !== changed) return;
    if (state.timer) return;
    state.timer = setTimeout(() => {
      state.timer = 0;
      if (state.view !== v) return;
      if (v.kind === 'overview') renderRows();
      else if (v.kind === 'app') loadApp(v);
      else if (v.kind === 'promotions') renderPromotions();
      else if (v.kind === 'promotion') loadPromotion(v);
    }, 100);
  }

  // ---- routing --------------------------------------------------------------------------

  function route() {
    let parts;
    try {
      parts = (location.hash.slice(1) || '/').split('/').slice(1).map(decodeURIComponent);
    } catch (_) {
      parts = [];
    }
    $('notice').hidden = true;
    document.querySelectorAll('header nav a').forEach((a) => a.removeAttribute('aria-current'));
    if (parts[0] === 'app' && parts.length === 3) showApp(parts[1], parts[2]);
    else if (parts[0] === 'promotions') showPromotions();
    else if (parts[0] === 'promotion' && parts.length === 3) showPromotion(parts[1], parts[2]);
    else showOverview();
  }

  // ---- overview -------------------------------------------------------------------------

  function select(id, label, values, current, onchange) {
    const s = el('select', { id, 'aria-label': label, change: () => onchange(s.value) },
      values.map((v) => el('option', { value: v, selected: v === current }, v || label + ': all')));
    return s;
  }

  function showOverview() {
    state.view = { kind: 'overview' };
    $('nav-apps').setAttribute('aria-current', 'page');
    const search = el('input', { type: 'search', id: 'search', placeholder: 'Search name, namespace, message', 'aria-label': 'Search', value: state.filter.q });
    search.addEventListener('input', () => { state.filter.q = search.value; state.page = 0; renderRows(); });
    const set = (k) => (v) => { state.filter[k] = v; state.page = 0; renderRows(); };
    $('main').replaceChildren(
      el('div', { class: 'toolbar' }, search,
        select('filter-sync', 'Sync', ['', 'Synced', 'OutOfSync', 'Unknown'], state.filter.sync, set('sync')),
        select('filter-health', 'Health', ['', 'Healthy', 'Progressing', 'Degraded', 'Missing', 'Unknown'], state.filter.health, set('health')),
        el('span', { id: 'count', class: 'count' })),
      el('div', { class: 'scroll' }, el('table', { id: 'apps', class: 'apps' },
        el('thead', {}, el('tr', {}, ['Name', 'Namespace', 'Sync', 'Health', 'Revision', 'Version', 'Message'].map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', { id: 'apps-body' }))),
      el('nav', { class: 'pager', id: 'pager', 'aria-label': 'pages' }));
    renderRows();
  }

  function filtered() {
    if (!state.sorted) {
      state.sorted = [...state.apps.values()].sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
    }
    const q = state.filter.q.trim().toLowerCase();
    return state.sorted.filter((a) => (!state.filter.sync || a.sync === state.filter.sync) &&
      (!state.filter.health || a.health === state.filter.health) &&
      (!q || (a.namespace + '/' + a.name + ' ' + a.message + ' ' + a.version + ' ' + a.revision).toLowerCase().includes(q)));
  }

  function renderRows() {
    const body = $('apps-body');
    if (!body) return;
    const list = filtered();
    const pages = Math.max(1, Math.ceil(list.length / PAGE));
    state.page = Math.min(state.page, pages - 1);
    const shown = list.slice(state.page * PAGE, (state.page + 1) * PAGE);
    body.replaceChildren(...shown.map((a) => el('tr', { 'data-key': key(a.namespace, a.name) },
      cell('Name', el('a', { href: appHref(a.namespace, a.name), class: 'name' }, a.name)),
      cell('Namespace', a.namespace),
      cell('Sync', badge(a.sync)),
      cell('Health', badge(a.health)),
      cell('Revision', el('code', {}, a.revision || '–')),
      cell('Version', a.version === '<none>' ? '–' : a.version),
      cell('Message', el('span', { class: 'msg' }, a.message)))));
    if (!shown.length) {
      body.replaceChildren(el('tr', {}, el('td', { colspan: 7, class: 'muted' }, state.loading ? 'Loading…' : (state.apps.size ? 'No application matches.' : 'No applications you may see here.'))));
    }
    const apps = (n) => n + (n === 1 ? ' application' : ' applications');
    $('count').textContent = list.length === state.apps.size ? apps(list.length) : list.length + ' of ' + apps(state.apps.size);
    const pager = $('pager');
    pager.replaceChildren();
    if (pages > 1) {
      pager.append(
        el('button', { type: 'button', id: 'prev', disabled: state.page === 0, click: () => { state.page--; renderRows(); } }, '‹ Previous'),
        el('span', {}, 'page ' + (state.page + 1) + ' of ' + pages),
        el('button', { type: 'button', id: 'next', disabled: state.page >= pages - 1, click: () => { state.page++; renderRows(); } }, 'Next ›'));
    }
  }

  // ---- one application ------------------------------------------------------------------

  function showApp(ns, name) {
    const v = { kind: 'app', ns, name, key: key(ns, name), panel: el('div', { id: 'panel' }) };
    state.view = v;
    $('main').replaceChildren(el('p', { class: 'muted' }, 'Loading ' + ns + '/' + name + '…'));
    loadApp(v);
  }

  async function loadApp(v) {
    let d;
    try {
      d = await api('/api/apps/' + enc(v.ns) + '/' + enc(v.name));
    } catch (e) {
      if (state.view === v) $('main').replaceChildren(el('p', { class: 'error' }, e.message), el('a', { href: '#/' }, '‹ All applications'));
      return;
    }
    if (state.view === v) renderApp(v, d);
  }

  function renderApp(v, d) {
    const a = d.app, s = d.summary, st = a.status || {}, spec = a.spec || {};
    const no = (what) => 'You may not ' + what + ' in namespace ' + a.metadata.namespace;
    const automated = !!(spec.sync && spec.sync.automated);
    const head = el('section', { class: 'card head', id: 'app-view', 'data-sync': s.sync, 'data-health': s.health, 'data-revision': (st.sync && st.sync.revision) || '' },
      el('a', { href: '#/', class: 'back' }, '‹ All applications'),
      el('h1', {}, el('span', { class: 'ns' }, a.metadata.namespace + '/'), a.metadata.name),
      el('div', { class: 'facts' },
        el('span', { id: 'app-sync' }, badge(s.sync)), el('span', { id: 'app-health' }, badge(s.health)),
        el('span', {}, 'revision ', el('code', { id: 'app-revision' }, s.revision || '–')),
        s.version && s.version !== '<none>' ? el('span', {}, 'version ', el('code', {}, s.version)) : null,
        s.lastSync ? el('span', { class: 'muted' }, 'synced ' + when(s.lastSync)) : null),
      s.message ? el('p', { class: 'problem', id: 'app-message' }, s.message) : null,
      st.sync && st.sync.message && st.sync.message !== s.message ? el('p', { class: 'muted' }, st.sync.message) : null);

    const revInput = el('input', { type: 'text', id: 'preview-rev', placeholder: 'branch, tag, commit or refs/pull/N/head', 'aria-label': 'Revision to preview', disabled: !d.can.diff });
    const actions = el('div', { class: 'actions' },
      el('button', { type: 'button', id: 'sync-btn', class: 'primary', disabled: !d.can.sync, title: d.can.sync ? 'Sync now at the head of the tracked ref' : no('create desiredstates/sync'), click: () => doSync(v, a) }, 'Sync'),
      el('button', { type: 'button', id: 'diff-btn', disabled: !d.can.diff, title: d.can.diff ? 'Live versus Git' : no('get desiredstates/diff'), click: () => doDiff(v, '') }, 'Diff'),
      el('span', { class: 'preview' }, revInput,
        el('button', { type: 'button', id: 'preview-btn', disabled: !d.can.diff, title: d.can.diff ? 'Diff at another revision' : no('get desiredstates/diff'), click: () => doDiff(v, revInput.value.trim()) }, 'Preview')),
      el('button', { type: 'button', id: 'promote-btn', disabled: !d.can.promote || !(spec.versions || []).length, title: d.can.promote ? 'Copy another environment\'s pins' : no('create promotions'), click: () => showPromote(v, d) }, 'Promote…'));

    const resources = st.resources || [];
    const tree = el('ul', { class: 'tree', id: 'resources' },
      el('li', { class: 'root' }, el('strong', {}, 'DesiredState/' + a.metadata.name), ' ', badge(s.sync), ' ', badge(s.health)),
      resources.length ? el('li', {}, el('ul', {}, resources.map((r) => el('li', { 'data-object': r.kind + '/' + r.name },
        el('span', { class: 'obj' }, r.kind + '/' + r.name + (r.namespace && r.namespace !== a.metadata.namespace ? ' -n ' + r.namespace : '')),
        ' ', badge(r.sync), ' ', badge(r.health), r.message ? el('span', { class: 'msg' }, r.message) : null)))) :
        el('li', { class: 'muted' }, '(no objects yet)'));

    const current = st.sync && st.sync.revision;
    const history = table('history', ['Revision', 'When', 'Result', 'Trigger', 'Message', ''], d.history.map((h) => el('tr', { 'data-revision': h.revision },
      cell('Revision', el('code', { title: h.revision }, short(h.revision))),
      cell('When', el('time', { datetime: h.time, title: h.time }, when(h.time))),
      cell('Result', badge(h.result)),
      cell('Trigger', h.trigger || '–'),
      cell('Message', el('span', { class: 'msg' }, h.message || '')),
      cell('', h.revision === current ? el('span', { class: 'muted' }, 'current') :
        el('button', { type: 'button', class: 'rollback', 'data-revision': h.revision, disabled: !d.can.sync, title: d.can.sync ? 'Sync at this revision' : no('create desiredstates/sync'), click: () => doRollback(v, a, h.revision) }, 'Roll back')))),
    d.historyError || 'No syncs recorded yet.');

    const values = new Map((st.versions || []).map((p) => [p.name, p]));
    const pins = table('pins', ['Pin', 'Where', 'Value', 'Update policy'], (spec.versions || []).map((p) => {
      const u = p.update || {};
      const policy = [u.image && 'image ' + u.image, u.constraint && 'constraint ' + u.constraint, u.tag && 'tag ' + u.tag, u.interval && 'every ' + u.interval].filter(Boolean).join(', ') || 'by hand';
      const val = values.get(p.name) || {};
      return el('tr', {}, cell('Pin', p.name), cell('Where', el('code', {}, p.field || (p.file + ' ' + p.path))),
        cell('Value', el('code', {}, val.value || '–'), val.message ? el('span', { class: 'msg' }, val.message) : null), cell('Update policy', policy));
    }), 'No version pins.');

    const conditions = table('conditions', ['Type', 'Status', 'Reason', 'Message', 'Since'], (st.conditions || []).map((c) => el('tr', {},
      cell('Type', c.type), cell('Status', badge(c.status)), cell('Reason', c.reason || ''), cell('Message', el('span', { class: 'msg' }, c.message || '')),
      cell('Since', when(c.lastTransitionTime)))), 'No conditions reported yet.');

    const src = st.source || {};
    const facts = [['File', src.file], ['Repository', src.repoURL || (spec.source && spec.source.repoURL)], ['Ref', src.ref || (spec.source && spec.source.ref)],
      ['Manifests', spec.helm ? 'Helm chart ' + (spec.helm.chart.path || spec.helm.chart.name + ' ' + (spec.helm.chart.version || '')) : (spec.source && spec.source.path)],
      ['Sync', [automated ? 'automated' : 'manual', spec.sync && spec.sync.prune && 'prune', spec.sync && spec.sync.selfHeal && 'self-heal'].filter(Boolean).join(', ')],
      ['Promoted from', spec.promotion && spec.promotion.from],
      ['Automation', st.automationPaused && 'paused at ' + short(st.automationPaused.revision) + ' by ' + (st.automationPaused.by || '?')],
      ['Sync requested', st.operation && ((st.operation.revision ? 'at ' + short(st.operation.revision) : 'at the tracked ref') + ' by ' + (st.operation.requestedBy || '?'))]]
      .filter((f) => f[1]);
    const source = el('dl', { class: 'facts-list' }, facts.map(([k, val]) => [el('dt', {}, k), el('dd', {}, val)]));

    const promos = d.promotions.length ? el('ul', { class: 'plain' }, d.promotions.map((p) => el('li', {},
      el('a', { href: '#/promotion/' + enc(p.namespace) + '/' + enc(p.name) }, p.name), ' ', badge(p.phase), ' ', p.commit ? el('code', {}, p.commit) : null, ' ', el('span', { class: 'muted' }, when(p.created))))) : null;

    $('main').replaceChildren(...[head, actions, v.panel,
      el('div', { class: 'grid' },
        section('Objects', 'objects', tree),
        section('Source', 'source', source)),
      section('History', 'history-card', history),
      el('div', { class: 'grid' },
        section('Version pins', 'pins-card', pins),
        section('Conditions', 'conditions-card', conditions)),
      promos ? section('Promotions', 'app-promotions', promos) : null].filter(Boolean));
  }

  async function doSync(v, a) {
    const ok = await confirmDialog('Sync ' + a.metadata.namespace + '/' + a.metadata.name + '?', [
      el('p', {}, 'Apply the head of the tracked ref now.'),
      a.status && a.status.automationPaused ? el('p', {}, 'Automated sync resumes with this sync.') : null].filter(Boolean));
    if (!ok) return;
    try {
      const r = await post('/api/apps/' + enc(v.ns) + '/' + enc(v.name) + '/sync', {});
      notice(r.message || 'Sync requested.');
    } catch (e) {
      notice('Sync refused: ' + e.message, true);
    }
  }

  async function doRollback(v, a, revision) {
    const automated = !!(a.spec.sync && a.spec.sync.automated);
    const ok = await confirmDialog('Roll back ' + a.metadata.namespace + '/' + a.metadata.name + ' to ' + short(revision) + '?', [
      el('p', {}, 'Sync at commit ', el('code', {}, revision), ' instead of the tracked ref.'),
      automated ? el('p', { class: 'problem' }, 'This application is synced automatically: automated sync pauses until the next Sync (as kubectl gitops rollback --force). The lasting fix is a revert commit in Git.') : null].filter(Boolean));
    if (!ok) return;
    try {
      const r = await post('/api/apps/' + enc(v.ns) + '/' + enc(v.name) + '/sync', { revision, pauseAutomation: automated });
      notice(r.message || 'Rollback requested.');
    } catch (e) {
      notice('Rollback refused: ' + e.message, true);
    }
  }

  async function doDiff(v, revision) {
    v.panel.replaceChildren(section(revision ? 'Preview of ' + revision : 'Diff: live ↔ Git', 'diff', el('p', { class: 'muted' }, 'Computing (a server-side dry run)…')));
    let d;
    try {
      d = await api('/api/apps/' + enc(v.ns) + '/' + enc(v.name) + '/diff' + (revision ? '?revision=' + enc(revision) : ''));
    } catch (e) {
      v.panel.replaceChildren(section('Diff', 'diff', el('p', { class: 'error' }, e.message)));
      return;
    }
    const objs = d.objects.map((o) => el('div', { class: 'diff-object' },
      el('h3', {}, o.path, ' ', el('span', { class: 'badge' }, o.action)),
      o.message ? el('p', { class: 'problem' }, o.message) : null,
      o.text ? el('pre', { class: 'diff' }, o.text.replace(/\n$/, '').split('\n').map((line) => el('span', {
        class: line.startsWith('@@') ? 'hunk' : (line.startsWith('+++') || line.startsWith('---')) ? 'file' : line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : '',
      }, line + '\n'))) : null));
    v.panel.replaceChildren(section((revision ? 'Preview of ' + revision : 'Diff: live ↔ Git') + ' at ' + short(d.revision), 'diff',
      objs.length ? objs : el('p', { id: 'no-diff' }, 'No differences: a sync would change nothing.'),
      el('button', { type: 'button', click: () => v.panel.replaceChildren() }, 'Close')));
  }

  function showPromote(v, d) {
    const a = d.app;
    const from = el('input', { type: 'text', id: 'promote-from', value: d.defaultFrom || '', placeholder: 'test', 'aria-label': 'Source environment' });
    const overrides = (a.spec.versions || []).map((p) => ({ name: p.name, input: el('input', { type: 'text', 'data-pin': p.name, placeholder: 'from the source environment', 'aria-label': 'Exact value of ' + p.name }) }));
    const via = el('input', { type: 'checkbox', id: 'promote-branch' });
    const plan = el('div', { id: 'promote-plan' });
    const request = () => ({ from: from.value.trim(), versions: overrides.filter((o) => o.input.value.trim()).map((o) => o.name + '=' + o.input.value.trim()), viaBranch: via.checked });
    const showPlan = async () => {
      const req = request();
      const q = new URLSearchParams();
      if (req.from) q.set('from', req.from);
      req.versions.forEach((x) => q.append('version', x));
      if (req.viaBranch) q.set('viaBranch', 'true');
      plan.replaceChildren(el('p', { class: 'muted' }, 'Working out the changes…'));
      let p;
      try {
        p = await api('/api/apps/' + enc(v.ns) + '/' + enc(v.name) + '/promote?' + q);
      } catch (e) {
        plan.replaceChildren(el('p', { class: 'error' }, e.message));
        return;
      }
      const rows = p.pins.map((c) => el('tr', { 'data-pin': c.name }, cell('Pin', c.name), cell('Now', el('code', {}, c.old || '(none)')),
        cell('After', c.fromGit ? el('em', {}, 'from ' + p.from + ' in Git at promotion time') : c.new === c.old ? el('span', { class: 'muted' }, 'unchanged') : el('code', {}, c.new))));
      plan.replaceChildren(table('promote-changes', ['Pin', 'Now', 'After'], rows, 'No pins.'),
        p.noop ? el('p', {}, 'Nothing to promote: this environment is already at these versions.') :
          el('button', { type: 'button', class: 'primary', id: 'promote-confirm', click: async () => {
            try {
              const r = await post('/api/apps/' + enc(v.ns) + '/' + enc(v.name) + '/promote', req);
              v.panel.replaceChildren();
              notice('Promotion ' + r.name + ' created: follow it under Promotions.');
            } catch (e) {
              notice('Promotion refused: ' + e.message, true);
            }
          } }, via.checked ? 'Promote on a new branch' : 'Promote'));
    };
    v.panel.replaceChildren(section('Promote ' + a.metadata.namespace + '/' + a.metadata.name, 'promote',
      el('label', {}, 'From environment ', from),
      el('fieldset', {}, el('legend', {}, 'Exact values (optional)'), overrides.map((o) => el('label', {}, o.name + ' ', o.input))),
      el('label', {}, via, ' through a new branch for review'),
      el('div', { class: 'actions' }, el('button', { type: 'button', id: 'promote-show', click: showPlan }, 'Show changes'),
        el('button', { type: 'button', click: () => v.panel.replaceChildren() }, 'Cancel')),
      plan));
  }

  // ---- promotions -----------------------------------------------------------------------

  function showPromotions() {
    state.view = { kind: 'promotions' };
    $('nav-promotions').setAttribute('aria-current', 'page');
    renderPromotions();
  }

  function renderPromotions() {
    const list = [...state.promotions.values()].sort((a, b) => b.created.localeCompare(a.created));
    $('main').replaceChildren(section('Promotions', 'promotions-card', table('promotions', ['Name', 'Application', 'From', 'Phase', 'Commit', 'Branch', 'By', 'Created', 'Message'],
      list.map((p) => el('tr', { 'data-key': key(p.namespace, p.name) },
        cell('Name', el('a', { href: '#/promotion/' + enc(p.namespace) + '/' + enc(p.name) }, p.name)),
        cell('Application', el('a', { href: appHref(p.namespace, p.desiredState) }, p.namespace + '/' + p.desiredState)),
        cell('From', p.from || '–'), cell('Phase', badge(p.phase)), cell('Commit', el('code', {}, p.commit || '–')),
        cell('Branch', p.branch || '–'), cell('By', p.requestedBy || '–'), cell('Created', when(p.created)),
        cell('Message', el('span', { class: 'msg' }, p.message || '')))),
      state.loading ? 'Loading…' : 'No promotions.')));
  }

  function showPromotion(ns, name) {
    const v = { kind: 'promotion', ns, name, key: key(ns, name) };
    state.view = v;
    $('nav-promotions').setAttribute('aria-current', 'page');
    loadPromotion(v);
  }

  async function loadPromotion(v) {
    let d;
    try {
      d = await api('/api/promotions/' + enc(v.ns) + '/' + enc(v.name));
    } catch (e) {
      if (state.view === v) $('main').replaceChildren(el('p', { class: 'error' }, e.message));
      return;
    }
    if (state.view !== v) return;
    const p = d.promotion, s = d.summary, st = p.status || {};
    const facts = [['Application', el('a', { href: appHref(s.namespace, s.desiredState) }, s.namespace + '/' + s.desiredState)],
      ['From', s.from || '(its spec.promotion.from)'], ['Phase', badge(s.phase)], ['Commit', el('code', {}, st.commit || '–')],
      ['Branch', st.branch || '–'], ['Requested by', st.requestedBy || '–'], ['Created', p.metadata.creationTimestamp],
      ['Finished', st.completionTime || '–'], ['Message', st.message || '']];
    const asked = (p.spec.versions || []).map((x) => x.name + '=' + x.value).join(', ');
    if (asked) facts.push(['Exact values', asked]);
    $('main').replaceChildren(section('Promotion ' + p.metadata.name, 'promotion-view',
      el('a', { href: '#/promotions', class: 'back' }, '‹ All promotions'),
      el('dl', { class: 'facts-list' }, facts.map(([k, val]) => [el('dt', {}, k), el('dd', {}, val)])),
      el('h3', {}, 'Changes'),
      table('promotion-changes', ['Pin', 'File', 'Path', 'Old', 'New'], (st.changes || []).map((c) => el('tr', {},
        cell('Pin', c.name), cell('File', el('code', {}, c.file)), cell('Path', el('code', {}, c.path)), cell('Old', el('code', {}, c.old || '(none)')), cell('New', el('code', {}, c.new)))),
      'No changes recorded yet.')));
  }

  startSession().then((ok) => {
    if (!ok) return;
    window.addEventListener('hashchange', route);
    route();
    connect();
  });
})();
