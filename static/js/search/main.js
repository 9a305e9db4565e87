// The Search page (/search, issue #14): a random search over the current experiment's
// hyperparameters, run by the server (/ws/sweep, docs/protocol.md "Sweeps"). The experiment comes
// in the URL hash, as the playground writes it (state.js); the page adds the space, the number of
// trials and the metric, and shows each finished trial at once: scatters, parallel coordinates
// (brush, then "Zoom in" for a narrower sweep: coarse to fine) and the table (a row opens that
// trial in the playground).
import { $, h, fmt } from '../dom.js';
import { Store, parseHash, serializeHash, toConfig, withConfig } from '../state.js';
import { Connection, socketUrl } from '../socket.js';
import { presenterToggle } from '../panels/topbar.js';
import { createBanners } from '../panels/banners.js';
import { createSpace } from './space.js';
import { createPlots, metricInfo } from './plots.js';
import { createTable } from './table.js';

const LIMITS = JSON.parse($('#sweep-limits')?.textContent || '{}');
const METRICS = ['dev.accuracy', 'dev.cost', 'train.accuracy', 'train.cost'];
const DEFAULT_EPOCHS = 300; // per trial: a sweep trains many short runs

const store = new Store(parseHash(location.hash));
store.writeHash();
const base = store.state;
const banners = createBanners($('#banners'));

// ---------------------------------------------------------------- top bar
const startBtn = h('button', { type: 'button', class: 'btn-play search-start', id: 'start', 'aria-label': 'Start the search', title: 'Start the search' },
  h('svg:svg', { viewBox: '0 0 24 24', class: 'icon', 'aria-hidden': 'true' }, h('svg:path', { d: 'M8 5v14l11-7z' })));
const cancelBtn = h('button', { type: 'button', class: 'btn-text search-cancel', id: 'cancel', disabled: true }, 'Cancel');
const statusPill = h('span', { class: 'status', id: 'status', 'data-status': 'idle', role: 'status' }, 'Ready');
const doneCount = h('span', { class: 'counter-value', id: 'done-count' }, '0 / 0');
const bestValue = h('span', { class: 'counter-value', id: 'best-value' }, '–');
const bar = h('div', { class: 'progress-bar', role: 'progressbar', 'aria-label': 'Trials done', 'aria-valuemin': '0', 'aria-valuemax': '0', 'aria-valuenow': '0' },
  h('div', { class: 'progress-fill' }));
$('#transport').append(
  h('div', { class: 'transport' }, startBtn, cancelBtn),
  h('div', { class: 'counters' },
    h('div', { class: 'counter' }, h('span', { class: 'counter-label' }, 'Trials'), doneCount),
    h('div', { class: 'counter counter-best' }, h('span', { class: 'counter-label', id: 'best-label' }, 'Best'), bestValue),
    statusPill),
  bar,
);
const presenter = presenterToggle(store);
$('#topbar-right').prepend(presenter);
const backLink = $('#back-link');
const syncBack = () => { backLink.href = `/#${serializeHash(store.state, store.hidden)}`; };
syncBack();
store.subscribe(() => { syncBack(); plots.redraw(); });

// ---------------------------------------------------------------- the setup column
const dataset = base.dataset === 'csv' ? 'an uploaded CSV' : base.dataset;
$('#base-summary').textContent = `Base experiment: ${dataset}, ${base.n} points · hidden ${base.hidden.join('-') || 'none'} ${base.activation} · `
  + `${base.optimizer} α ${fmt(base.learning_rate)} · batch ${base.batch_size}. Each trial changes only what is ticked below.`;
const space = createSpace($('#space-root'), base, () => clearErrors());

const field = (id, label, control, extra = {}) => h('div', { class: 'field', ...extra }, h('label', { for: id }, label), control);
const trialsInput = h('input', { type: 'text', id: 'trials', inputmode: 'numeric', value: '30', 'aria-describedby': 'trials-note' });
const epochsInput = h('input', { type: 'text', id: 'epochs', inputmode: 'numeric', value: String(Math.min(base.epochs, DEFAULT_EPOCHS)) });
const metricSelect = h('select', { id: 'metric' }, METRICS.map((m) => h('option', { value: m }, m.replace('.', ' '))));
const refineSelect = h('select', { id: 'refine' }, h('option', { value: '0' }, 'off'),
  h('option', { value: '1' }, '1 round'), h('option', { value: '2' }, '2 rounds'));
const seedInput = h('input', { type: 'text', id: 'seed', inputmode: 'numeric', value: '0' });
const settingsError = h('div', { class: 'field-error', id: 'settings-error', role: 'alert', hidden: true });
$('#settings-root').append(
  h('div', { class: 'settings-grid' },
    field('trials', 'Trials', trialsInput),
    field('epochs', 'Epochs per trial', epochsInput),
    field('metric', 'Metric', metricSelect),
    field('refine', 'Coarse to fine', refineSelect, { title: 'After the trials, narrow every range to the best quarter of them and run as many trials again' }),
    field('seed', 'Seed', seedInput, { class: 'field secondary' })),
  h('p', { class: 'muted settings-note', id: 'trials-note' },
    `At most ${LIMITS.max_trials} trials (all rounds) and ${(LIMITS.max_sweep_work ?? 0).toLocaleString('en-US')} epochs × points per sweep on this server.`),
  settingsError);

// ---------------------------------------------------------------- plots and table
const labelOf = (path) => space.label(path);
const plots = createPlots({ scatterRoot: $('#scatter-root'), parcoordsEl: $('#parcoords'), empty: $('#scatter-empty'), labelOf, shortOf: (p) => space.short(p) });
const zoomBtn = $('#zoom-in');
plots.onBrush = (any) => { zoomBtn.disabled = !any || running(); };
zoomBtn.addEventListener('click', zoomIn);
const configs = new Map(); // trial number -> its full training config (from the server)
const table = createTable($('#trials-root'), { labelOf: (p) => space.short(p), linkOf });

/** The playground's URL for a trial: its config in the hash, this page's presenter mode kept. */
function linkOf(trial) {
  const config = configs.get(trial.trial);
  if (!config) return null;
  const state = withConfig(store.state, config, { csv_id: store.state.csv_id });
  return `/#${serializeHash(state)}`;
}

// ---------------------------------------------------------------- the sweep
let phase = 'idle';     // idle | starting | running | cancelling
let trials = [];
let current = null;     // the `started` message of the sweep shown
const conn = new Connection(socketUrl('/ws/sweep'));
const running = () => phase !== 'idle';

function setPhase(next, text = null) {
  phase = next;
  startBtn.disabled = next !== 'idle';
  cancelBtn.disabled = next !== 'running' && next !== 'starting';
  zoomBtn.disabled = next !== 'idle' || zoomBtn.disabled;
  statusPill.dataset.status = next === 'idle' ? (text ?? 'idle') : next;
  statusPill.textContent = { starting: 'Starting', running: 'Running', cancelling: 'Cancelling' }[next] ?? ({ done: 'Done', cancelled: 'Cancelled', failed: 'Failed' }[text] ?? 'Ready');
  document.documentElement.dataset.sweep = next;
}

function clearErrors() {
  space.clearErrors();
  settingsError.hidden = true;
  for (const el of document.querySelectorAll('.search-settings .field.invalid')) el.classList.remove('invalid');
}

function settingsProblem(input, text) {
  input.closest('.field').classList.add('invalid');
  settingsError.textContent = text;
  settingsError.hidden = false;
}

function integer(input, label, lo, hi) {
  const x = Number(input.value);
  if (!Number.isInteger(x) || x < lo || x > hi) {
    settingsProblem(input, `${label} must be a whole number from ${lo} to ${hi}`);
    return null;
  }
  return x;
}

/** The sweep to send, or null (the problem is shown next to its control). */
function buildSweep() {
  clearErrors();
  let sampled;
  try {
    sampled = space.spaceOf();
  } catch (err) {
    return null;
  }
  if (!Object.keys(sampled).length) {
    settingsError.textContent = 'Tick at least one hyperparameter to sample.';
    settingsError.hidden = false;
    return null;
  }
  const trialsN = integer(trialsInput, 'Trials', 1, LIMITS.max_trials ?? 200);
  const epochs = integer(epochsInput, 'Epochs per trial', 1, 100000);
  const seed = integer(seedInput, 'Seed', 0, 2 ** 32 - 1);
  if (trialsN === null || epochs === null || seed === null) return null;
  const rounds = Number(refineSelect.value);
  return {
    base: { ...toConfig(store.state), epochs }, trials: trialsN, seed, metric: metricSelect.value, space: sampled,
    ...(rounds && { refine: { rounds, keep_top: 0.25 } }),
  };
}

function start() {
  if (running()) return;
  const sweep = buildSweep();
  if (!sweep) return;
  const message = { type: 'start', sweep, ...(store.state.dataset === 'csv' && store.state.csv_id && { csv_id: store.state.csv_id }) };
  if (!conn.send(message)) {
    banners.show('connection', 'Not connected to the server.', 'The page reconnects by itself; press Start again in a moment.');
    return;
  }
  banners.hide('finished');
  setPhase('starting');
}

function cancel() {
  if (phase !== 'running' && phase !== 'starting') return;
  conn.send({ type: 'cancel' });
  setPhase('cancelling');
}

function zoomIn() {
  const next = plots.zoomSpace();
  if (!next || running()) return;
  space.narrow(next);
  refineSelect.value = '0';
  start();
}

function showProgress(done, total, best) {
  doneCount.textContent = `${done} / ${total}`;
  bar.setAttribute('aria-valuemax', String(total));
  bar.setAttribute('aria-valuenow', String(done));
  bar.firstChild.style.width = `${total ? (100 * done) / total : 0}%`;
  const metric = current ? metricInfo(current.metric) : null;
  $('#best-label').textContent = metric ? `Best ${metric.label}` : 'Best';
  bestValue.textContent = best && metric ? `${metric.format(metric.value(best))} (#${best.trial})` : '–';
}

startBtn.addEventListener('click', start);
cancelBtn.addEventListener('click', cancel);

conn.on('open', () => banners.hide('connection'));
conn.on('close', () => {
  if (running()) {
    setPhase('idle', 'cancelled');
    banners.show('connection', 'Connection lost: the sweep stopped.', 'The server cancels a sweep whose page has gone. The page reconnects by itself; press Start to run it again.',
      { label: 'Reconnect', run: () => conn.reconnect() });
  }
});
conn.on('message', (m) => {
  if (m.type === 'started') {
    current = m;
    trials = [];
    configs.clear();
    plots.reset(m);
    table.reset(m);
    showProgress(0, m.total, null);
    setPhase('running');
  } else if (m.type === 'trial') {
    if (!current) return;
    trials.push(m.trial);
    if (m.config) configs.set(m.trial.trial, m.config);
    plots.update(trials, m.progress.best);
    table.update(trials, m.progress.best);
    showProgress(m.progress.done, m.progress.total, m.progress.best);
  } else if (m.type === 'done') {
    const best = m.result?.best ?? null;
    setPhase('idle', m.status);
    zoomBtn.disabled = !Object.keys(plots.zoomSpace() ?? {}).length;
    if (current) showProgress(trials.length, current.total, best);
    const metric = current ? metricInfo(current.metric) : null;
    if (m.status === 'done') {
      banners.show('finished', 'Search finished.', best && metric ? `Best ${metric.label} ${metric.format(metric.value(best))} at trial ${best.trial}: click its row to open it in the playground, or select a region on the parallel coordinates and Zoom in.` : 'No trial trained to the end without diverging: narrow the ranges (a lower learning rate) and search again.', null, { role: 'status' });
    } else if (m.status === 'cancelled') {
      banners.show('finished', 'Search cancelled.', `${trials.length} trials finished (${m.reason ?? 'cancelled'}).`, null, { role: 'status' });
    } else {
      banners.show('error', 'The search failed.', m.reason ?? '');
    }
  } else if (m.type === 'error') {
    if (phase === 'starting') setPhase('idle');
    showError(m);
  }
});
conn.connect();

function showError(m) {
  if (space.showError(m.field, m.message)) return;
  const inputs = { 'sweep.trials': trialsInput, 'sweep.base.epochs': epochsInput, 'sweep.metric': metricSelect, 'sweep.seed': seedInput, 'sweep.refine.rounds': refineSelect };
  if (inputs[m.field]) { settingsProblem(inputs[m.field], m.message); return; }
  banners.show('error', 'The server refused the search.', m.field ? `${m.field}: ${m.message}` : m.message);
}

setPhase('idle');
showProgress(0, 0, null);
// for the browser tests and the console: the sweep shown and its trials so far
window.nnSearch = { get sweep() { return current; }, get trials() { return trials; }, link: linkOf };
