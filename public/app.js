// The reports page: sign in with a user UUID, create reports, change their status, and watch every
// change arrive live, with the service's broadcasts beside them, over one connection (GET /sse with
// the user's reports stream and the broadcast). Plain JS, no build step. Data only ever reaches the
// DOM through textContent and attributes, never innerHTML.

import { createClient } from '/client/index.js';

/**
 * The status machine, as the service states it (GET /v4/transitions): `statuses`, and `next` (where a
 * report in each status may go). The service enforces it; the page only offers those moves.
 */
const machine = { statuses: [], next: null };

const ACTION_LABELS = {
  queued: 'Queue',
  processing: 'Process',
  completed: 'Complete',
  failed: 'Fail',
  canceled: 'Cancel',
  pending: 'Retry',
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const USER_KEY = 'sse-gateway:user-id';
const TOKEN_KEY = 'sse-gateway:access-token';
const MAX_BACKOFF_MS = 30_000;
/** Broadcasts the panel keeps, newest first. */
const MAX_BROADCASTS = 20;

const $ = (id) => document.getElementById(id);
const ui = {
  signIn: $('sign-in'),
  form: $('sign-in-form'),
  userId: $('user-id'),
  userIdError: $('user-id-error'),
  newUser: $('new-user'),
  auth: $('auth'),
  token: $('access-token'),
  reports: $('reports'),
  currentUser: $('current-user'),
  createReport: $('create-report'),
  signOut: $('sign-out'),
  reportsError: $('reports-error'),
  rows: $('report-rows'),
  noReports: $('no-reports'),
  scriptHint: $('script-hint'),
  connection: $('connection'),
  announcer: $('announcer'),
  broadcasts: $('broadcasts'),
  broadcastList: $('broadcast-list'),
  noBroadcasts: $('no-broadcasts'),
};

const state = {
  userId: '',
  token: '',
  /** Bumped on sign-in and sign-out, so late answers for an earlier user are dropped. */
  session: 0,
  /** reportId -> report, in table order (oldest first). */
  reports: new Map(),
  /** reportId -> <tr>, so rows are updated in place (focus and highlights survive). */
  rows: new Map(),
  /** reportId -> how many live updates arrived for it: tells whether a PUT answer may be stale. */
  liveUpdates: new Map(),
  /** The gateway client of the signed-in user (its token), carrying both streams. */
  client: null,
  /** Live updates that arrive while the list is being fetched, re-applied on top of the fetched list. */
  buffered: null,
  listAgain: false,
};

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// ---------- API ----------

function userQuery(extra = {}) {
  return new URLSearchParams({ user_id: state.userId, ...extra }).toString();
}

async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
  }
  if (state.token) {
    headers.authorization = `Bearer ${state.token}`;
  }
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch (cause) {
    throw new ApiError(0, `The service could not be reached (${cause.message}).`);
  }
  const text = await response.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined; // not JSON (a proxy's error page, say): the text itself is shown below
  }
  if (!response.ok) {
    throw new ApiError(response.status, describeFailure(response, json, text));
  }
  return json;
}

function describeFailure(response, json, text) {
  let message = json && json.message;
  if (Array.isArray(message)) {
    message = message.join('; ');
  }
  if (typeof message !== 'string' || message === '') {
    message = text.trim().slice(0, 300) || response.statusText;
  }
  const hint =
    response.status === 401 || response.status === 403
      ? ' The service may need an access token for this user (see "Access token" on the sign-in form).'
      : '';
  const stop = /[.!?]$/.test(message) ? '' : '.';
  return `${response.status} ${response.statusText}: ${message}${stop}${hint}`;
}

// ---------- sign in / out ----------

function newUserId() {
  if (typeof crypto.randomUUID === 'function') {
    return crypto.randomUUID();
  }
  // crypto.randomUUID exists only in secure contexts (https, localhost); the service may be reached over plain http.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function showUserIdError(message) {
  ui.userIdError.textContent = message;
  ui.userIdError.hidden = !message;
  ui.userId.setAttribute('aria-invalid', message ? 'true' : 'false');
}

function signIn(rawUserId) {
  const userId = rawUserId.trim();
  if (!UUID.test(userId)) {
    showUserIdError(
      'The user ID must be a UUID, like 6f1c1c52-2e55-4a52-9d1c-5b0d7c9a3f10. "New user" makes one.',
    );
    ui.userId.focus();
    return;
  }
  showUserIdError('');
  state.token = ui.token.value.trim();
  sessionStorage.setItem(TOKEN_KEY, state.token);
  localStorage.setItem(USER_KEY, userId);

  state.session++;
  state.userId = userId;
  clearReports();
  ui.currentUser.textContent = userId;
  ui.scriptHint.textContent = `./update_report_status.sh ${userId} <report-id> queued`;
  ui.signIn.hidden = true;
  ui.reports.hidden = false;
  ui.broadcasts.hidden = false;
  showReportsError('');
  openStream();
  void refreshList();
  ui.createReport.focus();
}

function signOut() {
  state.session++;
  closeStream();
  state.userId = '';
  localStorage.removeItem(USER_KEY);
  clearReports();
  setConnection('idle', 'Not signed in');
  ui.reports.hidden = true;
  ui.broadcasts.hidden = true;
  clearBroadcasts();
  ui.signIn.hidden = false;
  ui.userId.value = '';
  ui.userId.focus();
}

// ---------- the report list ----------

function clearReports() {
  state.reports.clear();
  state.rows.clear();
  state.liveUpdates.clear();
  state.buffered = null;
  state.listAgain = false;
  ui.rows.replaceChildren();
  ui.noReports.textContent = 'Loading…';
  ui.noReports.hidden = false;
}

function showReportsError(message) {
  ui.reportsError.textContent = message;
  ui.reportsError.hidden = !message;
}

/** Fetches the whole list; called on sign-in, on every (re)connect, and for a live update of an unknown report. */
async function refreshList() {
  if (!state.userId) {
    return;
  }
  if (state.buffered) {
    state.listAgain = true; // one more fetch once this one is in
    return;
  }
  const session = state.session;
  state.buffered = [];
  let list;
  let failure;
  try {
    list = await api('GET', `/v4/reports?${userQuery()}`);
  } catch (error) {
    failure = error;
  }
  if (session !== state.session) {
    return;
  }
  const buffered = state.buffered;
  state.buffered = null;
  if (failure) {
    showReportsError(`Could not load the reports: ${failure.message}`);
  } else {
    ui.noReports.textContent = 'No reports yet. Create one.';
    replaceReports(Array.isArray(list) ? list : []);
    showReportsError('');
    // Changes that arrived while the list was on its way may be newer than the list: apply them again.
    for (const update of buffered) {
      applyLiveUpdate(update);
    }
  }
  if (state.listAgain) {
    state.listAgain = false;
    void refreshList();
  }
}

function replaceReports(list) {
  const seen = new Set();
  const next = new Map();
  for (const report of list) {
    if (report && typeof report.reportId === 'string' && !seen.has(report.reportId)) {
      seen.add(report.reportId);
      next.set(report.reportId, report);
    }
  }
  for (const [reportId, row] of state.rows) {
    if (!next.has(reportId)) {
      row.remove();
      state.rows.delete(reportId);
    }
  }
  const before = state.reports;
  state.reports = next;
  for (const report of next.values()) {
    const row = renderRow(report);
    ui.rows.append(row); // append moves an existing row: the order follows the list
    const known = before.get(report.reportId);
    if (known && known.reportStatus !== report.reportStatus) {
      flash(row); // changed while the stream was down, or behind a stale answer
    }
  }
  ui.noReports.hidden = next.size > 0;
}

function upsertReport(report) {
  const known = state.reports.get(report.reportId);
  state.reports.set(report.reportId, { ...known, ...report });
  const row = renderRow(state.reports.get(report.reportId));
  if (!row.isConnected) {
    ui.rows.append(row);
  }
  ui.noReports.hidden = true;
  return row;
}

function applyLiveUpdate(update) {
  const report = state.reports.get(update.id);
  if (!report) {
    void refreshList(); // created elsewhere (another tab, the API): fetch it with its timestamps
    return;
  }
  if (report.reportStatus !== update.status) {
    report.reportStatus = update.status;
    flash(renderRow(report));
    announce(`Report ${shortId(update.id)} is now ${update.status}.`);
  }
}

// ---------- rows ----------

function shortId(id) {
  return `${id.slice(0, 8)}…`;
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

function timeElement(iso) {
  const element = document.createElement('time');
  const date = new Date(iso);
  if (typeof iso === 'string' && !Number.isNaN(date.getTime())) {
    element.dateTime = iso;
    element.title = iso;
    element.textContent = dateFormat.format(date);
  } else {
    element.textContent = '—';
  }
  return element;
}

function statusMark(status) {
  const known = machine.statuses.includes(status);
  const mark = document.createElement('span');
  mark.className = `status status--${known ? status : 'unknown'}`;
  mark.dataset.status = String(status);
  const dot = document.createElement('span');
  dot.className = 'status-dot';
  dot.setAttribute('aria-hidden', 'true');
  const name = document.createElement('span');
  name.className = 'status-name';
  name.textContent = String(status);
  mark.append(dot, name);
  return mark;
}

function cell(...children) {
  const td = document.createElement('td');
  td.append(...children);
  return td;
}

/** Creates or updates the row of a report; the row keeps its inline error until the next action on it. */
function renderRow(report) {
  let row = state.rows.get(report.reportId);
  if (!row) {
    row = document.createElement('tr');
    row.dataset.reportId = report.reportId;
    const id = document.createElement('code');
    id.className = 'report-id';
    id.textContent = report.reportId;
    const actions = document.createElement('div');
    actions.className = 'actions';
    const error = document.createElement('p');
    error.className = 'row-error';
    error.setAttribute('role', 'alert');
    error.hidden = true;
    row.append(cell(), cell(id), cell(), cell(actions, error));
    state.rows.set(report.reportId, row);
  }
  const [statusCell, , createdCell, actionsCell] = row.cells;
  if (row.dataset.status !== report.reportStatus) {
    row.dataset.status = report.reportStatus;
    statusCell.replaceChildren(statusMark(report.reportStatus));
    renderActions(actionsCell.querySelector('.actions'), report);
  }
  if (row.dataset.createdAt !== report.createdAt) {
    row.dataset.createdAt = report.createdAt;
    createdCell.replaceChildren(timeElement(report.createdAt));
  }
  return row;
}

function renderActions(container, report) {
  if (!machine.next) {
    const waiting = document.createElement('span');
    waiting.className = 'muted';
    waiting.textContent = '…';
    container.replaceChildren(waiting); // filled in by loadMachine()
    return;
  }
  const next = machine.next[report.reportStatus] ?? [];
  const buttons = next.map((status) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = `action action--${status}`;
    button.dataset.status = status;
    button.textContent = ACTION_LABELS[status];
    button.title = `Change the status to ${status}`;
    button.setAttribute(
      'aria-label',
      `${ACTION_LABELS[status]}: change report ${shortId(report.reportId)} to ${status}`,
    );
    return button;
  });
  if (buttons.length === 0) {
    const none = document.createElement('span');
    none.className = 'muted';
    none.textContent = 'final';
    container.replaceChildren(none);
  } else {
    container.replaceChildren(...buttons);
  }
}

function showRowError(row, message) {
  const error = row.querySelector('.row-error');
  error.textContent = message;
  error.hidden = !message;
}

function flash(row) {
  row.classList.remove('changed');
  void row.offsetWidth; // restarts the highlight animation
  row.classList.add('changed');
}

function announce(text) {
  ui.announcer.textContent = text;
}

async function changeStatus(reportId, status) {
  const row = state.rows.get(reportId);
  if (!row) {
    return;
  }
  const session = state.session;
  const updatesBefore = state.liveUpdates.get(reportId) ?? 0;
  const buttons = row.querySelectorAll('button.action');
  buttons.forEach((button) => (button.disabled = true));
  row.setAttribute('aria-busy', 'true');
  showRowError(row, '');
  try {
    const updated = await api('PUT', `/v4/report?${userQuery()}`, { id: reportId, status });
    if (session !== state.session) {
      return;
    }
    const current = state.reports.get(reportId);
    if (
      (state.liveUpdates.get(reportId) ?? 0) === updatesBefore ||
      current?.reportStatus === updated.reportStatus
    ) {
      upsertReport(updated);
    } else {
      // Another change of this report arrived live meanwhile: the answer may be older than it; ask again.
      void refreshList();
    }
  } catch (error) {
    if (session !== state.session) {
      return;
    }
    showRowError(row, error.message);
    if (error.status === 409 || error.status === 404) {
      void refreshList(); // the row was stale: show what the service has
    }
  } finally {
    row.removeAttribute('aria-busy');
    row.querySelectorAll('button.action').forEach((button) => (button.disabled = false));
  }
}

async function createReport() {
  const session = state.session;
  ui.createReport.disabled = true;
  showReportsError('');
  try {
    const report = await api('POST', `/v4/new/report?${userQuery()}`);
    if (session === state.session && report && typeof report.reportId === 'string') {
      flash(upsertReport(report));
      announce(`Report ${shortId(report.reportId)} created.`);
    }
  } catch (error) {
    if (session === state.session) {
      showReportsError(`Could not create a report: ${error.message}`);
    }
  } finally {
    ui.createReport.disabled = false;
  }
}

// ---------- the live stream ----------

const CONNECTION_TEXT = { connecting: 'Connecting…', connected: 'Connected', reconnecting: 'Reconnecting…' };

function setConnection(name, text) {
  ui.connection.dataset.state = name;
  ui.connection.querySelector('.connection-text').textContent = text;
}

function closeStream() {
  state.client?.close();
  state.client = null;
}

/**
 * One connection for both, shared with this origin's other tabs: the user's report events and the
 * broadcasts. The client reconnects with backoff and resumes each stream where it was.
 */
function openStream() {
  closeStream();
  setConnection('connecting', CONNECTION_TEXT.connecting);
  const token = state.token;
  const client = createClient({
    token: token ? () => token : undefined,
    onStatus: (status) => {
      if (state.client === client) {
        setConnection(status, CONNECTION_TEXT[status]);
        // Whatever happened before the stream (re)opened, the list says.
        if (status === 'connected') {
          void refreshList();
        }
      }
    },
  });
  state.client = client;
  client.subscribe(`reports:${state.userId}`, {
    onEvent: ({ data: update }) => {
      state.liveUpdates.set(update.id, (state.liveUpdates.get(update.id) ?? 0) + 1);
      state.buffered?.push(update);
      applyLiveUpdate(update);
    },
    // The history no longer reached back to where the stream was: the list is the truth.
    onGap: () => void refreshList(),
    onError: (error) => showReportsError(`Live updates stopped: ${error.message}`),
  });
  // The broadcast stream greets a connection that starts it with `connected`: not a broadcast to show.
  let first = true;
  client.subscribe('broadcast', {
    onEvent: ({ data }) => {
      if (!first || data !== 'connected') {
        showBroadcast(data);
      }
      first = false;
    },
  });
}

// ---------- broadcasts ----------

function showBroadcast(text) {
  const item = document.createElement('li');
  const time = document.createElement('time');
  const now = new Date();
  time.dateTime = now.toISOString();
  time.textContent = now.toLocaleTimeString();
  const message = document.createElement('span');
  message.className = 'broadcast-text';
  message.textContent = text;
  item.append(time, message);
  ui.broadcastList.prepend(item);
  while (ui.broadcastList.children.length > MAX_BROADCASTS) {
    ui.broadcastList.lastElementChild.remove();
  }
  ui.noBroadcasts.hidden = true;
}

function clearBroadcasts() {
  ui.broadcastList.replaceChildren();
  ui.noBroadcasts.hidden = false;
}

// ---------- wiring ----------

ui.form.addEventListener('submit', (event) => {
  event.preventDefault();
  signIn(ui.userId.value);
});

ui.newUser.addEventListener('click', () => {
  ui.userId.value = newUserId();
  signIn(ui.userId.value);
});

ui.userId.addEventListener('input', () => showUserIdError(''));
ui.token.addEventListener('change', () => sessionStorage.setItem(TOKEN_KEY, ui.token.value.trim()));
ui.signOut.addEventListener('click', signOut);
ui.createReport.addEventListener('click', () => void createReport());

ui.rows.addEventListener('click', (event) => {
  const button = event.target.closest('button.action');
  const row = button?.closest('tr');
  if (button && row && !button.disabled) {
    void changeStatus(row.dataset.reportId, button.dataset.status);
  }
});

/** Reads the status machine once, retrying until the service answers; then offers each row its moves. */
async function loadMachine(attempt = 0) {
  try {
    const answer = await api('GET', '/v4/transitions');
    machine.statuses = answer.statuses;
    machine.next = answer.next;
  } catch (error) {
    showReportsError(`Could not load the report statuses: ${error.message}`);
    setTimeout(() => void loadMachine(attempt + 1), Math.min(1000 * 2 ** attempt, MAX_BACKOFF_MS));
    return;
  }
  showReportsError('');
  for (const [reportId, row] of state.rows) {
    const [statusCell, , , actionsCell] = row.cells;
    statusCell.replaceChildren(statusMark(state.reports.get(reportId).reportStatus));
    renderActions(actionsCell.querySelector('.actions'), state.reports.get(reportId));
  }
}

(function start() {
  void loadMachine();
  ui.token.value = sessionStorage.getItem(TOKEN_KEY) ?? '';
  if (new URLSearchParams(location.search).get('auth') === 'jwt' || ui.token.value) {
    ui.auth.open = true;
  }
  const remembered = localStorage.getItem(USER_KEY);
  if (remembered && UUID.test(remembered)) {
    ui.userId.value = remembered;
    signIn(remembered);
  } else {
    ui.userId.focus();
  }
})();
