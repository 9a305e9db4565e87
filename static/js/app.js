// Wires the page: the store (state.js) and the connection (socket.js) on one side, the panels
// on the other. Store changes become protocol messages (`configure` for data/architecture,
// `set` for live hyperparameters); server messages and frames are handed to the panels.
// `startPlayground()` is the playground page (main.js); a classroom room's page (room/*.js) runs
// the same playground over /ws/room/{code} with `room` hooks: a `join` first message, the room's
// own messages, and a read-only mode while the student follows someone else's run.
import { $ } from './dom.js';
import { Store, parseHash, toConfig, liveFields, needsReset, withConfig } from './state.js';
import { Connection, socketUrl } from './socket.js';
import { CostCurve } from './cost-curve.js';
import { clearFieldErrors, showFieldError, keyForField } from './widgets.js';
import { createControls, presenterToggle } from './panels/controls.js';
import { createHyperparams } from './panels/hyperparams.js';
import { createDataPanel } from './panels/data.js';
import { createNetwork } from './panels/network.js';
import { createBoundary } from './panels/boundary.js';
import { createCurves } from './panels/curves.js';
import { createGradientGauge, createBiasVarianceCard } from './panels/cards.js';
import { createLessons } from './panels/lessons.js';
import { createRuns } from './panels/runs.js';
import { createBanners } from './panels/banners.js';

const FPS = 30;
const SET_DEBOUNCE_MS = 80;
const REPLAY_WAIT_MS = 600; // a room replays its run's latest state right after `joined`/`mode`

/** The playground page. Options (all for classroom rooms, room/*.js):
 *  - `socketPath`: the websocket path (default /ws);
 *  - `room`: hooks {join() -> first message on every (re)connection, onMessage(m) -> true when
 *    the room handled it, onThumbnails(frame), onClose(info) -> true to keep the page's banner
 *    away}. With `room`, the URL hash is read once but never written (it may hold a secret), the
 *    run is not configured on open (the room module decides), and every `state`'s config is
 *    shown in the controls (the run may be the teacher's, a spotlit student's or a pushed one).
 *  Returns the handles a room module drives the page with. */
export function startPlayground({ socketPath = '/ws', room = null } = {}) {
const parsed = parseHash(location.hash);
const store = new Store(parsed, { syncHash: !room });
store.writeHash();
const conn = new Connection(socketUrl(socketPath));
const curve = new CostCurve(); // the cost curve's points (the same rule as a saved run's history)
let readOnly = false;     // following another run: controls inert, nothing sent from the store
let remote = false;       // the store is being updated from a server `state` (nothing to send)
let replayTimer = null;   // waiting for a room's replayed state (see expectReplay)

let status = 'connecting';
let queued = [];          // frames received and not drawn yet, oldest first
let hovered = null;       // {index, label} of the hidden neuron shown on the big plot
let frameShown = null;    // last drawn frame (for hover previews)
let pendingRunId = null;  // a loaded run's weights, sent with the next configure
let pendingSave = null;   // {resolve, reject} of a `save` waiting for `saved`
let points = null;        // the run's points: its `data` message (sent once per session, not in `state`)
let pointsShown = true;   // ... drawn on the CSV tile (after the `state` that names the dataset)

const banners = createBanners($('#banners'));
const controls = createControls($('#transport'), store, { togglePlay, step, reset });
$('#topbar-right').append(presenterToggle(store));
createHyperparams($('#hyperparams'), store);
const dataPanel = createDataPanel($('#data-panel'), store);
const network = createNetwork($('#network-panel'), store, { previewNeuron, setWeight });
const boundary = createBoundary($('#boundary-panel'), store);
const curves = createCurves($('#curves-panel'), store, curve);
const gauge = createGradientGauge($('#gradient-card'));
const biasVariance = createBiasVarianceCard($('#bias-card'), store);
const lessons = createLessons($('#lesson-menu-root'), $('#lesson-card-root'), store, { gradcheck: () => conn.send({ type: 'gradcheck' }) });
createRuns($('#runs-menu-root'), store, {
  save: (name) => saveRun(name),
  record: (name) => saveRun(name, { store: false }),
  load: (run, state) => { pendingRunId = run.id; store.update(state, { replace: true, restart: true }); },
  // figures built when an export asks (the boundary image and the curves' lines live on canvases; PNGs get a legend)
  plots: () => ({
    get boundary() { return boundary.exportFigure(); },
    get cost() { return curves.exportFigure('cost'); },
    get accuracy() { return curves.exportFigure('accuracy'); },
  }),
});

// A link whose values the page could not use says so (e.g. #dataset=foo falls back to Circle).
if (parsed.ignored.length) {
  banners.show('url', 'Part of this link was not understood.', parsed.ignored.map((x) =>
    `${x.label} "${x.value}" does not exist, so the default (${x.fallback || 'none'}) is used instead; allowed: ${x.allowed}.`).join(' '));
}

// ---------------------------------------------------------------- commands
function setStatus(value) {
  status = value;
  controls.setStatus(value);
}

/** How a finished run ended (the server's `outcome`: why it stopped, which weights are kept) and
 *  what Play does now, in the status line and on the play button; null hides it. */
function showOutcome(outcome) {
  controls.setOutcome(outcome);
  if (!outcome) { banners.hide('finished'); return; }
  const [title, why] = headline(outcome.message);
  banners.show('finished', title, `${why} ${outcome.play}`, { label: 'Start over', run: togglePlay }, { role: 'status' });
}

/** "Stopped early at epoch 13: the dev cost …" -> ["Stopped early at epoch 13.", "The dev cost …"]. */
function headline(sentence) {
  const cut = sentence.indexOf(': ');
  if (cut < 0) return [sentence, ''];
  const rest = sentence.slice(cut + 2);
  return [`${sentence.slice(0, cut)}.`, `${rest.charAt(0).toUpperCase()}${rest.slice(1)}`];
}

function togglePlay() {
  if (readOnly) return;
  if (status === 'running') { conn.send({ type: 'pause' }); setStatus('paused'); return; }
  if (status === 'invalid' || status === 'connecting') return;
  if (status === 'diverged' || status === 'done' || status === 'stopped_early') reset();
  if (conn.send({ type: 'play' })) setStatus('running');
}

function step() {
  if (readOnly) return;
  if (status === 'running') conn.send({ type: 'pause' });
  if (status === 'diverged' || status === 'done' || status === 'stopped_early') return;
  conn.send({ type: 'step', n: 1 });
}

function reset() {
  if (readOnly) return;
  curve.clear();
  banners.hide('diverged');
  showOutcome(null);
  conn.send({ type: 'reset' });
}

function sendSpeed() {
  const s = store.get('speed');
  conn.send({ type: 'speed', steps_per_frame: s === 'max' ? 'max' : Number(s), fps: FPS });
}

function configure() {
  curve.clear();
  clearFieldErrors();
  banners.hide('diverged');
  banners.hide('error');
  showOutcome(null);
  const message = { type: 'configure', config: toConfig(store.state) };
  if (store.get('dataset') === 'csv' && store.get('csv_id')) message.csv_id = store.get('csv_id');
  if (pendingRunId) message.run_id = pendingRunId;
  pendingRunId = null;
  conn.send(message);
}

/** Whether the control of `key` is on screen (not hidden by presenter mode or by relevance). */
function isShown(key) {
  const field = document.querySelector(`.field[data-key="${key}"]`);
  return Boolean(field && field.offsetParent !== null);
}

function previewNeuron(neuron) {
  hovered = neuron;
  showPreview();
}

function showPreview() {
  const neurons = frameShown?.arrays.neurons;
  if (hovered === null || !neurons || hovered.index >= neurons.shape[0]) { boundary.preview(null); return; }
  const [, t] = neurons.shape;
  const grid = neurons.data.subarray(hovered.index * t * t, (hovered.index + 1) * t * t);
  boundary.preview({ grid, t, label: hovered.label });
}

function setWeight(layer, row, col, value) {
  conn.send({ type: 'set_weight', layer, row, col, value });
}

/** `save`: stored on the server (resolves with the run's id), or with store = false sent back
 *  for a download (resolves with the `record` reply; nothing is added to the saved runs). */
function saveRun(name, { store = true } = {}) {
  return new Promise((resolve, reject) => {
    if (!conn.send({ type: 'save', name, store })) { reject(new Error('Not connected to the server.')); return; }
    pendingSave?.reject(new Error('superseded by a newer save'));
    const timer = setTimeout(() => { pendingSave = null; reject(new Error('The server did not answer the save.')); }, 15000);
    pendingSave = {
      resolve: (id) => { clearTimeout(timer); pendingSave = null; resolve(id); },
      reject: (err) => { clearTimeout(timer); pendingSave = null; reject(err); },
    };
  });
}

// ---------------------------------------------------------------- store -> server
let configureTimer = null;
let liveKeys = new Set();
let liveTimer = null;

store.subscribe((changed, state, { restart = false } = {}) => {
  if (remote || readOnly) return; // the server's own settings, or someone else's run
  if (restart || needsReset(changed)) {
    // a lesson or a loaded run is a new experiment: its full config, a fresh run, paused
    const resume = status === 'running' && !restart && !changed.includes('lesson');
    if (restart) { clearTimeout(liveTimer); liveKeys = new Set(); }
    clearTimeout(configureTimer);
    configureTimer = setTimeout(() => {
      configure();
      if (resume) conn.send({ type: 'play' });
    }, 0);
    return;
  }
  for (const key of changed) liveKeys.add(key);
  clearTimeout(liveTimer);
  liveTimer = setTimeout(() => {
    const fields = liveFields([...liveKeys], store.state);
    liveKeys = new Set();
    if (fields) conn.send({ type: 'set', ...fields });
  }, SET_DEBOUNCE_MS);
  if (changed.includes('speed')) sendSpeed();
});

// A URL pasted or edited by hand: start over from it.
if (!room) window.addEventListener('hashchange', () => location.reload());

/** A room page shows the settings of the run it receives (whoever drives it); the lesson card
 *  stays when the run still has its lesson's data and network, else the lesson it matches. */
function adoptConfig(config) {
  if (!readOnly && liveKeys.size) return; // a live change of this page is on its way: its reply follows
  const apply = () => {
    const next = withConfig(store.state, config);
    next.lesson = lessons.match(next, store.get('lesson'));
    remote = true;
    try { store.update(next, { replace: true }); } finally { remote = false; }
  };
  apply();
  lessons.load().then(() => { if (store.get('lesson') !== lessons.match(store.state, store.get('lesson'))) apply(); });
}

// ---------------------------------------------------------------- server -> panels
/** A run that blew up: the curves reach its last finite cost, the counters show where it
 *  diverged (not the iteration whose weights were restored). `d`: the server's `diverged`
 *  message or a `divergence` (docs/protocol.md). */
function showDivergence(d) {
  const at = d.diverged_at ?? d.iteration;
  curve.diverge(d);
  curves.redraw();
  controls.setCounters({ epoch: d.diverged_epoch ?? d.epoch, iteration: at,
    diverged: { iteration: at, restored_iteration: d.restored_iteration } });
}

// Painting: one frame per animation frame, every panel updated in place. Frames wait in a queue
// (a jitter buffer): two frames that arrive within one screen refresh are drawn on two refreshes
// instead of the first being dropped, so a stream as fast as the screen is drawn whole. A frame's
// `ready` credit goes back when it is drawn, so the queue never holds more than the server's frame
// credits (server/limits.py FRAME_CREDITS, 3; a hidden tab gets no more until it draws) and the
// server never sends faster than the page draws. `window.nnPaint.drawn` counts the frames painted
// (bench/paint_bench.py reads it).
const paintStats = window.nnPaint ??= { drawn: 0 };
let drawScheduled = false;

function draw() {
  drawScheduled = false;
  const frame = queued.shift();
  if (frame) {
    const { header } = frame;
    // A frame drawn after `diverged` (already in flight) must not hide the divergence: the
    // counters and the curves keep the blow-up (curve.add ignored it).
    if (header.divergence) showDivergence(header.divergence);
    else if (status !== 'diverged') controls.setCounters(header);
    network.update(frame);
    boundary.update(frame);
    curves.update(frame);
    gauge.update(frame);
    biasVariance.update(frame);
    frameShown = frame;
    if (hovered !== null) showPreview();
    paintStats.drawn += 1;
    conn.send({ type: 'ready' });
  }
  if (queued.length) { drawScheduled = true; requestAnimationFrame(draw); }
}

conn.on('frame', (frame) => {
  if (frame.header.type === 'thumbnails') { room?.onThumbnails?.(frame); return; } // not a run frame: no credit
  queued.push(frame);
  curve.add(frame.header); // every frame's figures, drawn or not
  // The status is taken in arrival order: a frame sent before a pause is drawn after the pause's
  // `state`, and must not turn the page back to running.
  const next = frame.header.status;
  if (next && next !== status && status !== 'diverged') setStatus(next);
  if (!drawScheduled) { drawScheduled = true; requestAnimationFrame(draw); }
});

const handlers = {
  state(m) {
    if (replayTimer) { clearTimeout(replayTimer); replayTimer = null; }
    if (room && m.config) adoptConfig(m.config);
    setStatus(m.status);
    if (m.iteration !== undefined) controls.setCounters({ epoch: m.epoch, iteration: m.iteration, learning_rate: m.config?.optimizer?.learning_rate });
    if (m.divergence) showDivergence(m.divergence);
    if (m.status !== 'diverged') banners.hide('diverged');
    showOutcome(m.outcome ?? null); // how the run ended (null while it can still train)
    network.setState({ network: m.network, limits: m.limits, data: points });
    if (!pointsShown) { dataPanel.setData(points); pointsShown = true; } // a room's page adopted the dataset just now
  },
  /** A new session's points (configure, import, a loaded run; a room's run when this page starts
   *  showing it): sent once, before its first `state`, which does not repeat them. */
  data(m) {
    points = m;
    pointsShown = false;
    boundary.setData(m);
    curves.setKind(m.kind);
  },
  error(m) {
    if (m.request_type === 'save') { pendingSave?.reject(new Error(m.message)); return; }
    if (m.request_type === 'gradcheck') { lessons.showGradcheckError(m.message); return; }
    if (m.request_type === 'configure') setStatus('invalid'); // nothing to train until the settings are fixed
    const key = keyForField(m.field);
    if (key === 'csv_id') { dataPanel.showCsvError(m.message); return; }
    // The server words the message for people (server/wording.py); `field` marks the control.
    const marked = key && showFieldError(key, m.message) && isShown(key);
    if (marked && m.request_type !== 'configure') return;
    banners.show('error', m.request_type === 'configure' ? 'These settings cannot be trained.' : 'That did not work.', m.message);
  },
  diverged(m) {
    setStatus('diverged');
    showDivergence(m);
    const [title, text] = m.hint ? headline(m.hint) : ['Training diverged.', 'Lower the learning rate and press Reset.'];
    banners.show('diverged', title, text, { label: 'Reset', run: reset });
  },
  done(m) {
    setStatus(m.status);
    if (m.outcome) showOutcome(m.outcome);
  },
  /** A loaded run carries on (configure with run_id): its curves so far, before its first frame. */
  history(m) {
    curve.load(m);
    curves.redraw();
  },
  gradcheck(m) { lessons.showGradcheck(m); },
  saved(m) { pendingSave?.resolve(m.id); },
  record(m) { pendingSave?.resolve(m); },
};

conn.on('message', (m) => {
  if (room?.onMessage(m)) return;
  handlers[m.type]?.(m);
});
conn.on('open', () => {
  banners.hide('disconnected');
  if (room) { conn.send(room.join()); return; }
  configure();
  sendSpeed();
});
conn.on('close', (info) => {
  setStatus('connecting');
  queued = [];
  if (room?.onClose?.(info)) return;
  const { retryIn } = info;
  banners.show('disconnected', 'Connection to the server lost.', `Reconnecting in ${Math.round(retryIn / 1000) || 1} s… ${room ? '(you rejoin the class)' : '(the run restarts from its URL settings)'}`,
    { label: 'Reconnect now', run: () => conn.reconnect() });
});
conn.connect();

/** Read-only while following: the controls are inert (visible, not usable), keyboard shortcuts
 *  and store changes send nothing; the page shows what the followed run's `state`s say. */
function setReadOnly(value) {
  readOnly = Boolean(value);
  document.body.classList.toggle('read-only', readOnly);
  for (const el of document.querySelectorAll('[data-room-controls]')) el.inert = readOnly;
  if (readOnly) { clearTimeout(configureTimer); clearTimeout(liveTimer); liveKeys = new Set(); }
}

return {
  store, conn, banners, setReadOnly,
  get status() { return status; },
  /** Train a run of this socket's own from the page's settings (fresh weights, paused). */
  startRun() { configure(); sendSpeed(); },
  sendSpeed,
  /** Run `fallback` unless the server replays a `state` within a moment (a room sends the run's
   *  latest state right after `joined` or `mode` when the run exists). */
  expectReplay(fallback) {
    clearTimeout(replayTimer);
    replayTimer = setTimeout(() => { replayTimer = null; fallback(); }, REPLAY_WAIT_MS);
  },
  /** Another run is shown from now on (a spotlight): its curves start afresh. */
  newRun() { curve.clear(); curves.redraw(); },
};
}
