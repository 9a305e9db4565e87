// The optimizer lab's page: the store (hash state) and a race socket on one side, the setup
// column, race plot, results table and the two previews on the other. Surface or optimizer
// changes restart the race (`configure`); learning rates, β, ε and bias correction apply live (`set`;
// with a server that replays, `replay: true`: the whole path is recomputed and redrawn at once).
// The state lives in the URL hash (followed live: editing it reconfigures the lab); a hash without
// a race starts from the server's "default" preset; presenter mode and `<key>_hide=true` as on the
// playground.
// `startLab()` is the /lab page (main.js); a lab room's page (room/*.js, docs/lab.md "Lab rooms")
// runs the same lab over /ws/room/{code} with `room` hooks, as startPlayground does (app.js).
import { h, $, fmt, fmtInt } from '../dom.js';
import { Connection, socketUrl } from '../socket.js';
import { createBanners } from '../panels/banners.js';
import { icon, showStatus, presenterToggle } from '../panels/topbar.js';
import { LabStore, parseHash, serializeHash, configureMessage, displayNames, newOptimizer, hashHasRace, defaults, SPEEDS } from './state.js';
import { loadPresets, createPresetMenu, stateOfPreset } from './presets.js';
import { createSetup } from './setup.js';
import { createRace } from './race.js';
import { createResults } from './results.js';
import { createConvergence } from './convergence.js';
import { createSchedules } from './schedules.js';
import { createEwma } from './ewma.js';

const CONFIGURE_DEBOUNCE_MS = 150;
const SET_MIN_GAP_MS = 24;   // live changes: one `set` per animation frame, at most ~40/s (the server takes 60 messages/s)
const GESTURE_MS = 700;      // changes closer than this are one gesture: the ghost is the run before its first
const REPLAY_WAIT_MS = 600; // a room replays its race right after `joined`/`mode`
const RACE_KEYS = ['surface', 'condition', 'rotation', 'normalized', 'batch', 'tol', 'start', 'optimizers'];
const LESSONS = {
  quadratic: 'Gradient descent zig-zags across the narrow valley: the steep direction (curvature κ) caps α below 2/κ, so it crawls along the flat one. Momentum averages the gradients (VdW) — the zig-zag cancels, the steady push adds up. RMSprop divides each parameter’s step by its typical gradient size √SdW — best when the valley lies along an axis (try rotation 0°). Adam does both. Raise κ or α until GD diverges.',
  rosenbrock: 'A curved, flat-bottomed valley with its minimum at (1, 1): every optimizer drops into the valley quickly, then crawls along its floor where the gradient is tiny. Adam’s momentum and rescaled steps carry it along the floor first; at these α the others need thousands of steps — raise their α and watch them bounce out of the valley.',
  saddle: 'The start lies almost on the ridge through the saddle point (0, 0): along w₂ the gradient there is nearly zero, so gradient descent slides towards the saddle and lingers on the plateau — w₂ only grows by a factor 1 + α per step — before escaping to a minimum at (0, ±1). RMSprop and Adam divide by the gradient’s typical size, so even a tiny gradient gives a full step: they escape almost at once.',
  logistic: 'Raw inputs (x₁ in 0..3, x₂ in 0..1, neither centred) make the cost an elongated, tilted bowl: GD zig-zags along its narrow axis. Tick "Normalize inputs": the bowl turns nearly round and the same α runs almost straight to the minimum. Lower the batch size to compare the noisy mini-batch paths (solid) with the full-batch ones (dotted).',
};
const STATUS_TEXT = { connecting: 'Connecting…', idle: 'Connecting…', ready: 'Ready', running: 'Racing', paused: 'Paused', done: 'Finished' };

/** The lab page. Options (for lab rooms, room/*.js): `socketPath` (default /ws/lab); `room`:
 *  hooks {join() -> first message on every (re)connection, onMessage(m) -> true when the room
 *  handled it, onClose(info) -> true to keep the page's banner away}. With `room`, the hash is
 *  read once but never written (it may hold a secret), nothing is configured on open (the room
 *  module decides), and the settings of each race shown are taken from its `state`.
 *  Returns the handles a room module drives the page with (as startPlayground's). */
export function startLab({ socketPath = '/ws/lab', room = null } = {}) {
const store = new LabStore(parseHash(location.hash), { syncHash: !room });
const conn = new Connection(socketUrl(socketPath));
const presetsReady = loadPresets();
let defaultPreset = null; // the server's "default" preset: the race of a hash without one
const banners = createBanners($('#banners'));
const setup = createSetup($('#setup'), store);
const race = createRace($('#race-plot'), { onStart: (p) => { if (!readOnly) store.update({ start: p }, { click: true }); } });
const results = createResults($('#results-root'));
const PLOT_STYLE = {
  margin: { l: 58, r: 12, t: 8, b: 40 }, paper_bgcolor: 'rgba(0,0,0,0)', plot_bgcolor: '#fff',
  font: { family: getComputedStyle(document.body).fontFamily, size: 12, color: '#3d4650' },
  legend: { orientation: 'h', x: 0, y: 1.02, yanchor: 'bottom', font: { size: 12 } }, hovermode: 'closest',
  xaxis: { gridcolor: '#eceff2', zeroline: false, linecolor: '#9aa5ae', ticks: 'outside', tickcolor: '#9aa5ae' },
  yaxis: { gridcolor: '#eceff2', zeroline: false, linecolor: '#9aa5ae', ticks: 'outside', tickcolor: '#9aa5ae' },
};
const schedules = createSchedules($('#schedules-root'), store, PLOT_STYLE);
const ewma = createEwma($('#ewma-root'), store, PLOT_STYLE);
const convergence = createConvergence($('#convergence-root'), PLOT_STYLE);
const supportsReplay = () => Boolean(shownSurface && 'lr_limit' in shownSurface);
const divergedShown = new Set(); // racer ids with a divergence banner

let status = 'connecting';
let configured = false; // a `surface` arrived for the current configuration
let readOnly = false;   // a room's follower: controls inert, nothing sent from the store
let remote = false;     // the store is being updated from a server `state` (nothing to send)
let pendingSurface = null; // a room's `surface`, drawn once the `state` after it gave the settings
let replayTimer = null; // waiting for a room's replayed race (see expectReplay)
let shownSurface = null;

// ---------------------------------------------------------------- top bar
const play = h('button', { class: 'btn-play', id: 'play', type: 'button', title: 'Play / pause (space)', 'aria-label': 'Play', onclick: togglePlay }, icon('play'));
const stepBtn = h('button', { class: 'btn-round', id: 'step', type: 'button', title: 'One update of every optimizer (→)', 'aria-label': 'Step', onclick: step }, icon('step'));
const resetBtn = h('button', { class: 'btn-round', id: 'reset', type: 'button', title: 'Every optimizer back to the start', 'aria-label': 'Reset', onclick: reset }, icon('reset'));
const speed = h('select', { id: 'speed', onchange: (e) => store.update({ speed: Number(e.target.value) }) },
  SPEEDS.map((v) => h('option', { value: v, selected: v === store.state.speed }, `${v} step${v > 1 ? 's' : ''} / frame`)));
const stepCounter = h('output', { class: 'counter-value', id: 'step-count', 'aria-labelledby': 'step-count-label' }, '0');
const statusPill = h('span', { class: 'status', id: 'status', role: 'status' }, STATUS_TEXT.connecting);
const presetRoot = h('div', { class: 'lab-preset-root' });
$('#transport').append(
  h('div', { class: 'transport' }, resetBtn, play, stepBtn,
    h('div', { class: 'field field-inline', dataset: { hide: 'speed' } }, h('label', { for: 'speed' }, 'Speed'), speed)),
  h('div', { class: 'counters' },
    h('div', { class: 'counter' }, h('span', { class: 'counter-label', id: 'step-count-label' }, 'Step'), stepCounter), statusPill),
  presetRoot,
);
const presetMenu = createPresetMenu(presetRoot, store, presetsReady);
const presenter = presenterToggle(store);
presenter.dataset.hide = 'presenter';
presenter.setAttribute('aria-label', 'Presenter');
for (const node of [...presenter.childNodes]) { // its name in a .btn-label (icon alone on narrow bars)
  if (node.nodeType === 3 && node.textContent.trim()) node.replaceWith(h('span', { class: 'btn-label' }, node.textContent));
}
$('.topbar-right')?.prepend(presenter);

// the race fills the screen below the top bar, a room's bar and the banners (--lab-top: how far
// down it starts; the top bar wraps into two rows on narrow screens in presenter mode)
const labMain = $('#lab-main');
const placeRace = () => document.documentElement.style.setProperty('--lab-top', `${labMain.offsetTop}px`);
const above = new ResizeObserver(placeRace);
for (const el of [$('.topbar'), $('#banners'), $('#room-bar')]) if (el) above.observe(el);
placeRace();

// ---------------------------------------------------------------- hidden controls, presenter, ghost
const hideStyle = h('style', { id: 'lab-hidden' });
document.head.append(hideStyle);
function applyHidden(s) {
  hideStyle.textContent = (s.hidden ?? []).map((k) => `[data-hide~="${k}"] { display: none !important; }`).join('\n');
}
function applyPresenter(s) {
  const big = Boolean(s.presenter);
  PLOT_STYLE.font.size = big ? 17 : 12;
  PLOT_STYLE.legend.font.size = big ? 17 : 12;
  race.setPresenter(big);
  convergence.restyle();
  schedules.refresh();
  ewma.refresh();
}
const ghostToggle = $('#ctl-ghost');
if (ghostToggle) {
  ghostToggle.checked = store.state.ghost !== false;
  ghostToggle.addEventListener('change', () => store.update({ ghost: ghostToggle.checked }));
}
race.setGhostVisible(store.state.ghost !== false);
applyHidden(store.state);
if (store.state.presenter) PLOT_STYLE.font.size = PLOT_STYLE.legend.font.size = 17;
race.setPresenter(Boolean(store.state.presenter));

// the ghost is the run before the first change of a gesture (a slider drag is many changes)
let lastChange = 0;
function changing() {
  const now = performance.now();
  if (now - lastChange > GESTURE_MS) race.keepGhost();
  lastChange = now;
}

function setStatus(value) {
  status = value;
  showStatus(play, statusPill, value, STATUS_TEXT);
}

function togglePlay() {
  if (readOnly) return;
  if (status === 'running') { conn.send({ type: 'pause' }); setStatus('paused'); return; }
  if (status === 'done') conn.send({ type: 'reset' });
  conn.send({ type: 'play' });
}
function step() { if (!readOnly) conn.send({ type: 'step', n: 1 }); }
function reset() { hideDiverged(); if (!readOnly) conn.send({ type: 'reset' }); }
function hideDiverged(id = null) {
  for (const key of id ? [id] : [...divergedShown]) { banners.hide(`diverged-${key}`); divergedShown.delete(key); }
}

document.addEventListener('keydown', (event) => {
  const t = event.target;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (readOnly || (t.closest && t.closest('input, select, textarea, button, a'))) return;
  if (event.key === ' ') { event.preventDefault(); togglePlay(); }
  else if (event.key === 'ArrowRight') { event.preventDefault(); step(); }
});

// ---------------------------------------------------------------- store -> server
let configureTimer = null;
function configure() {
  clearTimeout(configureTimer);
  configureTimer = setTimeout(() => {
    configureTimer = null;
    const resume = status === 'running';
    setup.clearErrors();
    hideDiverged();
    banners.hide('error');
    changing();
    configured = false;
    conn.send(raceMessage(store.state));
    if (resume) conn.send({ type: 'play' });
  }, CONFIGURE_DEBOUNCE_MS);
}

const pendingSets = new Map(); // optimizer id -> fields not sent yet
let setTimer = null;
let lastSet = 0;
function sendSets() {
  setTimer = null;
  if (performance.now() - lastSet < SET_MIN_GAP_MS) { setTimer = requestAnimationFrame(sendSets); return; }
  lastSet = performance.now();
  const replay = supportsReplay() ? { replay: true } : {};
  for (const [id, fields] of pendingSets) conn.send({ type: 'set', id, ...fields, ...replay });
  pendingSets.clear();
}

store.subscribe((changed, s, meta) => {
  if (changed.includes('speed')) speed.value = String(s.speed);
  if (changed.includes('hidden')) applyHidden(s);
  if (changed.includes('presenter')) applyPresenter(s);
  if (changed.includes('ghost')) { race.setGhostVisible(s.ghost !== false); if (ghostToggle) ghostToggle.checked = s.ghost !== false; }
  if (changed.includes('preset') || changed.includes('surface')) showLesson();
  if (remote || readOnly) return;
  if (changed.includes('speed')) conn.send({ type: 'speed', steps_per_frame: s.speed });
  if (meta.live) {
    const o = s.optimizers.find((x) => x.id === meta.optimizer);
    const fields = Object.fromEntries(meta.fields.map((k) => [k, o[k]]));
    pendingSets.set(o.id, { ...(pendingSets.get(o.id) || {}), ...fields });
    if ('learning_rate' in fields) results.setLearningRate(o.id, o.learning_rate);
    if (supportsReplay()) changing();
    if (!setTimer) setTimer = requestAnimationFrame(sendSets);
    return;
  }
  if (meta.click) {
    changing();
    conn.send({ type: 'start_point', x: s.start[0], y: s.start[1] });
    race.setStart(s.start);
    return;
  }
  if (RACE_KEYS.some((k) => changed.includes(k))) configure();
});

// ---------------------------------------------------------------- server -> page
conn.on('open', () => {
  banners.hide('connection');
  if (room) { conn.send(room.join()); return; }
  sendSpeed();
  conn.send(raceMessage(store.state));
});
conn.on('close', (info) => {
  const { retryIn } = info;
  setStatus('connecting');
  if (room?.onClose?.(info)) return;
  banners.show('connection', 'Connection lost.', `Reconnecting in ${Math.round(retryIn / 1000) || 1} s…`,
    { label: 'Reconnect now', run: () => conn.reconnect() });
});
conn.on('message', (msg) => {
  if (room?.onMessage(msg)) return;
  const s = store.state;
  if (msg.type === 'surface' && room) {
    pendingSurface = msg; // the `state` right after it says whose settings these are
    configured = false;
  } else if (msg.type === 'surface') {
    showSurface(msg);
  } else if (msg.type === 'state') {
    if (replayTimer) { clearTimeout(replayTimer); replayTimer = null; }
    if (room && msg.optimizers && (readOnly || pendingSurface) && !configureTimer && !setTimer) adoptState(msg);
    if (pendingSurface || (room && msg.step === 0)) hideDiverged(); // a new or restarted race
    if (pendingSurface) { showSurface(pendingSurface); pendingSurface = null; }
    if (msg.status !== 'idle') setStatus(msg.status);
    stepCounter.textContent = fmtInt(msg.step ?? 0);
  } else if (msg.type === 'frame') {
    if (!configured) return;
    race.frame(msg);
    results.frame(msg);
    convergence.frame(msg);
    // a replayed path that no longer diverges takes its banner away
    for (const p of msg.paths) if (p.points_from === 0 && p.status !== 'diverged' && divergedShown.has(p.id)) hideDiverged(p.id);
    stepCounter.textContent = fmtInt(msg.step);
    $('#race-plot').dataset.points = JSON.stringify(race.counts());
    $('#convergence-plot').dataset.points = JSON.stringify(convergence.counts());
  } else if (msg.type === 'diverged') {
    // one banner per racer: every divergence stays in view until a reset or a new race
    const name = displayNames(s.optimizers)[msg.id] ?? msg.id;
    divergedShown.add(msg.id);
    banners.show(`diverged-${msg.id}`, `${name} diverged at step ${fmtInt(msg.step)}:`, `${msg.reason} — ${msg.hint.replace(msg.id, name)}.`,
      readOnly ? null : { label: 'Reset', run: reset });
    $(`#banner-diverged-${msg.id}`)?.classList.add('banner-diverged');
  } else if (msg.type === 'error') {
    if (!setup.showError(msg.field, msg.message)) banners.show('error', 'The server refused a change:', `${msg.field || msg.request_type}: ${msg.message}`);
  }
});

function showSurface(msg) {
  const s = store.state;
  configured = true;
  shownSurface = msg;
  const names = displayNames(s.optimizers);
  race.setSurface(msg, s.start, s.optimizers, names);
  results.setRacers(s.optimizers, names, msg.tolerance);
  convergence.setRacers(s.optimizers, names, msg);
  setup.setLrLimit(msg.lr_limit ?? null);
  showLesson();
  $('#plot-caption').textContent = caption(msg);
  $('#minibatch-key').hidden = !msg.minibatch;
  $('#axes-key').hidden = !msg.axes?.length;
}

/** "What to look for": the chosen preset's lesson while its surface is shown, else the surface's. */
function showLesson() {
  const s = store.state;
  const p = s.preset ? presetMenu.find(s.preset) : null;
  const own = p && (p.state?.surface ?? defaults().surface) === s.surface;
  $('#lesson-title').textContent = own ? p.title : 'What to look for';
  $('#lesson-text').textContent = own ? p.lesson : LESSONS[shownSurface?.name ?? s.surface];
}

/** A room page shows the settings of the race it receives (the teacher's, a spotlit student's,
 *  a forked or pushed one): the `state`'s settings go into the store without being sent back. */
function adoptState(m) {
  const colors = new Map(store.state.optimizers.map((o) => [o.id, o.color]));
  const optimizers = [];
  for (const spec of m.optimizers) {
    const made = newOptimizer(spec.name, optimizers);
    optimizers.push({ ...made, ...spec, color: colors.get(spec.id) ?? made.color });
  }
  const sf = m.surface;
  const surface = pendingSurface ?? shownSurface; // its `start` is the surface's default one
  const usual = surface && surface.name === sf.name && m.start.every((v, i) => Math.abs(v - surface.start[i]) < 1e-9);
  remote = true;
  try {
    store.update({ surface: sf.name, condition: sf.condition, rotation: sf.rotation, normalized: sf.normalized,
      batch: sf.batch_size ?? 0, start: usual ? null : m.start, tol: m.tolerance, optimizers, speed: m.speed?.steps_per_frame ?? store.state.speed });
  } finally { remote = false; }
}

/** The `configure` of the state; a finer grid for a very elongated bowl (at κ ≥ 100 its inner
 *  ellipses are a few cells wide on the usual grid and their contours break up). */
function raceMessage(s) {
  const message = configureMessage(s);
  if (s.surface === 'quadratic' && s.condition >= 100) message.resolution = 160;
  return message;
}

function caption(msg) {
  if (msg.name === 'quadratic') return `J = ½ wᵀA w · κ = ${fmt(msg.params.condition, 3)} · rotation ${fmt(msg.params.rotation)}°`;
  if (msg.name === 'rosenbrock') return 'J = (1 − w₁)² + 100 (w₂ − w₁²)²';
  if (msg.name === 'saddle') return 'J = w₁²/2 + w₂⁴/4 − w₂²/2';
  const batch = msg.params.batch_size ? `batch ${msg.params.batch_size}` : 'full batch';
  return `cross-entropy of σ(w₁x₁ + w₂x₂) · ${msg.params.normalized ? 'normalized' : 'raw'} inputs · ${batch}`;
}

function sendSpeed() { conn.send({ type: 'speed', steps_per_frame: store.state.speed }); }

/** Read-only while following: the setup and the transport are inert, shortcuts and clicks on
 *  the plot send nothing; the page shows what the followed race's messages say. */
// ---------------------------------------------------------------- the hash, followed live
if (!room) {
  window.addEventListener('hashchange', () => {
    if (location.hash === `#${serializeHash(store.state)}`) return;
    const base = hashHasRace(location.hash) || !defaultPreset ? defaults() : stateOfPreset(defaultPreset, defaults());
    store.update({ ...parseHash(location.hash, base) }, { hash: true });
  });
}

function setReadOnly(value) {
  readOnly = Boolean(value);
  document.body.classList.toggle('read-only', readOnly);
  for (const el of document.querySelectorAll('[data-room-controls]')) el.inert = readOnly;
  if (readOnly) { clearTimeout(configureTimer); configureTimer = null; cancelAnimationFrame(setTimer); setTimer = null; pendingSets.clear(); }
}

setStatus('connecting');
presetsReady.then(({ default: id, presets }) => {
  defaultPreset = presets?.find((p) => p.id === (id ?? 'default')) ?? null;
  showLesson();
});
if (room) conn.connect();
else {
  // a hash without a race starts from the server's "default" preset (its keys over the defaults)
  const fresh = !hashHasRace(location.hash);
  presetsReady.finally(() => {
    if (fresh && defaultPreset) {
      remote = true;
      try { store.update(parseHash(location.hash, stateOfPreset(defaultPreset, defaults()))); } finally { remote = false; }
    }
    history.replaceState(null, '', `#${serializeHash(store.state)}`);
    conn.connect();
  });
}
schedules.refresh();
ewma.refresh();

// for the browser tests: the paths drawn (a replayed path differs point by point)
window.nnLab = { paths: () => race.paths(), surface: () => race.surface };

return {
  store, conn, banners, setReadOnly, sendSpeed,
  get status() { return status; },
  /** Race with this page's settings (a fresh race, paused at step 0). */
  startRun() { sendSpeed(); conn.send(raceMessage(store.state)); },
  /** Run `fallback` unless the server replays the race's `state` within a moment. */
  expectReplay(fallback) {
    clearTimeout(replayTimer);
    replayTimer = setTimeout(() => { replayTimer = null; fallback(); }, REPLAY_WAIT_MS);
  },
  /** Another race is shown from now on: its `surface` and whole paths come next. */
  newRun() {},
};
}
