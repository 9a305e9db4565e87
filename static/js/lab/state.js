// The optimizer lab's state: defaults, the URL hash (the whole experiment lives there, so copying
// the URL reproduces it) and the `configure` message it describes (docs/lab.md).
//
// Hash: surface=quadratic&condition=50&rotation=30&normalized=0&batch=0&start=-1.8,0.9&tol=0.0001
//       &speed=2&opt=gd,lr:0.035&opt=adam,lr:0.1,b1:0.9,b2:0.999,eps:1e-8,bc:1
//       &alpha0=0.1&epochs=100&decay_rate=1&interval=0&base=0.95&k=1&betas=0.5,0.9,0.98&uncorrected=1
//       [&preset=adam] [&presenter=1] [&ghost=0] [&lr_hide=true …]
// The defaults of the race come from the server's "default" preset (GET /api/lab/presets; the
// values below are its fallback). Every range, the hyperparameters' and the previews' defaults,
// and which hyperparameters each optimizer uses come from the server's models (schema.js).
import { PALETTE } from '../colors.js';
import { SCHEMA, field, range, inRange } from './schema.js';

export const SURFACE_LABELS = {
  quadratic: 'Elongated bowl', rosenbrock: 'Rosenbrock', saddle: 'Saddle point', logistic: 'Logistic model',
};
export const SURFACES = Object.keys(SURFACE_LABELS);
export const OPTIMIZER_LABELS = { gd: 'Gradient descent', momentum: 'Momentum', nesterov: 'Nesterov momentum', rmsprop: 'RMSprop', adam: 'Adam' };
export const OPTIMIZERS = Object.keys(OPTIMIZER_LABELS);
export const SHORT_LABELS = { gd: 'GD', momentum: 'Momentum', nesterov: 'Nesterov', rmsprop: 'RMSprop', adam: 'Adam' };
// The optimizers of the fallback defaults (the server's "default" preset replaces them).
const DEFAULT_RACERS = ['gd', 'momentum', 'rmsprop', 'adam'];
// A racer's keys in the hash: short name -> key (`opt=adam,lr:0.1,b1:0.9,…`).
const HASH_KEYS = { lr: 'learning_rate', b: 'beta', b1: 'beta1', b2: 'beta2', eps: 'epsilon', bc: 'bias_correction' };
const SHORT_KEYS = Object.fromEntries(Object.entries(HASH_KEYS).map(([short, key]) => [key, short]));
const HYPER = Object.values(HASH_KEYS).filter((k) => k !== 'learning_rate');
// The hyperparameters each update rule reads (the others are kept but unused); without the schema
// (node) every one of them.
export const USES = Object.fromEntries(OPTIMIZERS.map((name) => [name, SCHEMA?.uses?.[name] ?? HYPER]));
// Controls a link can hide with `<key>_hide=true` (as on the playground): the hash's keys, `lr` for
// every α, the optimizers' `add` row and `type` menus, the `presets` menu, the `ghost` toggle.
export const HIDEABLE = ['surface', 'condition', 'rotation', 'normalized', 'batch', 'tol', 'start', 'speed', 'lr',
  'beta', 'beta1', 'beta2', 'epsilon', 'bias_correction', 'type', 'add', 'presets', 'ghost', 'presenter',
  'alpha0', 'epochs', 'decay_rate', 'interval', 'base', 'k', 'betas', 'uncorrected'];
const HIDE_ALIASES = { learning_rate: 'lr', b: 'beta', b1: 'beta1', b2: 'beta2', eps: 'epsilon', bc: 'bias_correction' };
export const BATCH_SIZES = [0, 64, 32, 16, 8, 1]; // 0 = full batch (m examples)
export const SPEEDS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
export const MAX_OPTIMIZERS = field('Configure', 'optimizers')?.maxItems ?? Infinity;
export const LOGISTIC_M = field('Configure', 'surface', 'batch_size')?.maximum ?? Infinity; // the full batch
const optimizerField = (key) => field('Configure', 'optimizers', '*', key);

// Hyperparameter ranges (OptimizerConfig's, from the schema) with their labels.
const HYPER_LABELS = { learning_rate: 'α', beta: 'β', beta1: 'β₁', beta2: 'β₂', epsilon: 'ε' };
export const RANGES = Object.fromEntries(Object.entries(HYPER_LABELS)
  .map(([key, label]) => [key, { ...range(optimizerField(key)), label }]));
export const SURFACE_RANGES = {
  condition: range(field('Configure', 'surface', 'condition')),
  rotation: range(field('Configure', 'surface', 'rotation')),
};
const DEFAULT_LR = { gd: 0.035, momentum: 0.035, nesterov: 0.035, rmsprop: 0.05, adam: 0.1 };
// Learning rates that show each surface's lesson (loaded when the surface is switched): the same
// α on raw and normalized logistic inputs, so that normalizing is the only change.
const SUGGESTED_LR = {
  quadratic: DEFAULT_LR,
  rosenbrock: { gd: 0.002, momentum: 0.002, nesterov: 0.002, rmsprop: 0.005, adam: 0.05 },
  saddle: { gd: 0.1, momentum: 0.1, nesterov: 0.1, rmsprop: 0.05, adam: 0.1 },
  logistic_raw: { gd: 2.5, momentum: 2.5, nesterov: 2.5, rmsprop: 0.05, adam: 0.1 },
  logistic: { gd: 2.5, momentum: 2.5, nesterov: 2.5, rmsprop: 0.05, adam: 0.1 },
};

/** The optimizers with the suggested α of `surface` (raw or normalized logistic inputs). */
export function withSuggestedRates(optimizers, surface, normalized) {
  const table = SUGGESTED_LR[surface === 'logistic' && !normalized ? 'logistic_raw' : surface];
  return optimizers.map((o) => ({ ...o, learning_rate: table[o.name] }));
}

export function newOptimizer(name, existing = []) {
  const used = new Set(existing.map((o) => o.id));
  const colours = new Set(existing.map((o) => o.color));
  let n = 1;
  while (used.has(`o${n}`)) n += 1;
  return {
    id: `o${n}`, name, learning_rate: DEFAULT_LR[name],
    ...Object.fromEntries(HYPER.map((key) => [key, optimizerField(key)?.default])),
    color: PALETTE.find((c) => !colours.has(c)) ?? PALETTE[existing.length % PALETTE.length],
  };
}

// The previews' keys (GET /api/lab/schedules and /api/lab/ewma): their defaults are the queries'.
const SCHEDULE_KEYS = ['alpha0', 'epochs', 'decay_rate', 'interval', 'base', 'k'];
const scheduleField = (key) => field('SchedulePreview', key);

export function defaults() {
  const optimizers = [];
  for (const name of DEFAULT_RACERS) optimizers.push(newOptimizer(name, optimizers));
  return {
    surface: 'quadratic', condition: 50, rotation: 30, normalized: false, batch: 0, start: null,
    tol: 1e-4, speed: 2, optimizers,
    ...Object.fromEntries(SCHEDULE_KEYS.map((key) => [key, scheduleField(key)?.default])),
    interval: scheduleField('interval')?.default ?? 0, // 0 = no staircase (the query's null)
    betas: field('EwmaQuery', 'betas')?.default ?? [], uncorrected: true,
    // browser only: the lesson preset chosen, presenter mode, the previous run's ghost, hidden controls
    preset: '', presenter: false, ghost: true, hidden: [],
  };
}

/** The number of a hash value when it is in range `r` (schema.js range), else undefined. */
const num = (raw, r) => {
  const x = Number(raw);
  return raw !== '' && raw !== null && inRange(r, x) ? x : undefined;
};
/** A parser of hash values in the range of a schema field; `zero`: 0 is allowed too (off). */
const ranged = (schema, { zero = false } = {}) => {
  const r = range(schema);
  return (raw) => (zero && raw !== '' && Number(raw) === 0 ? 0 : num(raw, r));
};
const bool = (raw) => (raw === '1' || raw === 'true' ? true : raw === '0' || raw === 'false' ? false : undefined);
const betaRange = range(field('EwmaQuery', 'betas', '*'));
const maxBetas = field('EwmaQuery', 'betas')?.maxItems ?? Infinity;

// key -> parser of a hash value (undefined = invalid, keep the default)
const FIELDS = {
  surface: (v) => (SURFACES.includes(v) ? v : undefined),
  condition: ranged(field('Configure', 'surface', 'condition')),
  rotation: ranged(field('Configure', 'surface', 'rotation')),
  normalized: bool,
  batch: ranged(field('Configure', 'surface', 'batch_size'), { zero: true }), // 0 = the full batch
  start: (v) => {
    const xy = String(v).split(',').map(Number);
    return xy.length === 2 && xy.every(Number.isFinite) ? xy : undefined;
  },
  tol: ranged(field('Configure', 'tolerance')),
  speed: ranged(field('Speed', 'steps_per_frame')),
  ...Object.fromEntries(SCHEDULE_KEYS.map((key) => [key, ranged(scheduleField(key), { zero: key === 'interval' })])),
  betas: (v) => {
    const bs = String(v).split(',').filter((s) => s !== '').map(Number);
    return bs.length >= 1 && bs.length <= maxBetas && bs.every((b) => inRange(betaRange, b)) ? bs : undefined;
  },
  uncorrected: bool,
  preset: (v) => (/^[A-Za-z0-9_-]{1,40}$/.test(v) ? v : undefined),
  presenter: bool,
  ghost: bool,
};
// the keys of the race (a hash without any of them starts from the "default" preset)
export const RACE_HASH_KEYS = ['surface', 'condition', 'rotation', 'normalized', 'batch', 'start', 'tol', 'speed', 'opt'];

/** One optimizer from its hash form "adam,lr:0.1,b1:0.9" (undefined if invalid). */
function parseOptimizer(text, existing) {
  const [name, ...pairs] = String(text).split(',');
  if (!OPTIMIZERS.includes(name)) return undefined;
  const opt = newOptimizer(name, existing);
  for (const pair of pairs) {
    const [short, raw] = pair.split(':');
    const key = HASH_KEYS[short];
    if (!key) return undefined;
    const value = key === 'bias_correction' ? bool(raw) : num(raw, RANGES[key]);
    if (value === undefined) return undefined;
    opt[key] = value;
  }
  return opt;
}

/** The lab state of a location hash on top of `base` (the defaults, or the "default" preset over
 *  them); unknown keys and invalid values keep the base's. Without `opt=` entries the optimizers
 *  are the base's, with the suggested α of the hash's surface when it differs from the base's. */
export function parseHash(hash, base = defaults()) {
  const state = { ...base, hidden: [] };
  const params = new URLSearchParams(String(hash || '').replace(/^#/, ''));
  const opts = [];
  const hidden = new Set();
  for (const [key, raw] of params) {
    if (key.endsWith('_hide')) {
      const k = key.slice(0, -5);
      const name = HIDE_ALIASES[k] ?? k;
      if (raw === 'true' && HIDEABLE.includes(name)) hidden.add(name);
    } else if (key === 'opt') {
      if (opts.length >= MAX_OPTIMIZERS) continue;
      const opt = parseOptimizer(raw, opts);
      if (opt) opts.push(opt);
    } else if (FIELDS[key]) {
      const value = FIELDS[key](raw);
      if (value !== undefined) state[key] = value;
    }
  }
  const moved = state.surface !== base.surface || (state.surface === 'logistic' && state.normalized !== base.normalized);
  state.optimizers = opts.length ? opts : moved ? withSuggestedRates(base.optimizers, state.surface, state.normalized) : base.optimizers;
  state.hidden = [...hidden].sort();
  return state;
}

/** Whether a hash says anything about the race (else the lab starts from the "default" preset). */
export function hashHasRace(hash) {
  const params = new URLSearchParams(String(hash || '').replace(/^#/, ''));
  return RACE_HASH_KEYS.some((k) => params.has(k));
}

/** The lab state of a preset's `state` (GET /api/lab/presets) on top of `base`: the keys it omits
 *  keep the base's; its values are checked as a hash's would be (an invalid one keeps the base's). */
export function presetState(presetValues, base = defaults()) {
  const optimizers = [];
  for (const spec of presetValues.optimizers ?? []) {
    if (!OPTIMIZERS.includes(spec.name) || optimizers.length >= MAX_OPTIMIZERS) continue;
    const made = newOptimizer(spec.name, optimizers);
    optimizers.push({ ...made, ...spec, id: made.id, color: made.color });
  }
  const merged = { ...base, ...presetValues, optimizers: optimizers.length ? optimizers : base.optimizers };
  if (!Array.isArray(merged.betas)) merged.betas = base.betas;
  if (merged.start !== null && !(Array.isArray(merged.start) && merged.start.length === 2)) merged.start = base.start;
  // through the hash's checks: a value out of range falls back to the base's
  const checked = parseHash(serializeHash(merged), { ...base, optimizers: merged.optimizers });
  return { ...checked, presenter: base.presenter, ghost: base.ghost, hidden: base.hidden };
}

function optimizerHash(o) {
  const value = (key) => (key === 'bias_correction' ? (o[key] ? 1 : 0) : o[key]);
  return [o.name, `lr:${o.learning_rate}`, ...USES[o.name].map((key) => `${SHORT_KEYS[key]}:${value(key)}`)].join(',');
}

export function serializeHash(s) {
  const parts = [
    `surface=${s.surface}`, `condition=${s.condition}`, `rotation=${s.rotation}`, `normalized=${s.normalized ? 1 : 0}`,
    `batch=${s.batch}`, ...(s.start ? [`start=${s.start.map((v) => Number(v.toPrecision(6))).join(',')}`] : []),
    `tol=${s.tol}`, `speed=${s.speed}`,
    ...s.optimizers.map((o) => `opt=${optimizerHash(o)}`),
    `alpha0=${s.alpha0}`, `epochs=${s.epochs}`, `decay_rate=${s.decay_rate}`, `interval=${s.interval}`,
    `base=${s.base}`, `k=${s.k}`, `betas=${s.betas.join(',')}`, `uncorrected=${s.uncorrected ? 1 : 0}`,
    ...(s.preset ? [`preset=${s.preset}`] : []), ...(s.presenter ? ['presenter=1'] : []), ...(s.ghost === false ? ['ghost=0'] : []),
    ...(s.hidden ?? []).map((k) => `${k}_hide=true`),
  ];
  return parts.join('&');
}

/** The `configure` message of the race part of the state. */
export function configureMessage(s) {
  return {
    type: 'configure',
    surface: {
      name: s.surface, condition: s.condition, rotation: s.rotation, normalized: s.normalized,
      batch_size: s.batch > 0 && s.batch < LOGISTIC_M ? s.batch : null,
    },
    optimizers: s.optimizers.map((o) => ({
      id: o.id, name: o.name, learning_rate: o.learning_rate, beta: o.beta, beta1: o.beta1,
      beta2: o.beta2, epsilon: o.epsilon, bias_correction: o.bias_correction,
    })),
    start: s.start,
    tolerance: s.tol,
    resolution: s.surface === 'rosenbrock' ? 160 : 100, // its valley floor is very narrow
  };
}

/** Display names: "Adam", or "Adam 2" when the same optimizer races more than once. */
export function displayNames(optimizers) {
  const seen = {};
  const total = {};
  for (const o of optimizers) total[o.name] = (total[o.name] || 0) + 1;
  return Object.fromEntries(optimizers.map((o) => {
    seen[o.name] = (seen[o.name] || 0) + 1;
    return [o.id, total[o.name] > 1 ? `${SHORT_LABELS[o.name]} ${seen[o.name]}` : SHORT_LABELS[o.name]];
  }));
}

/** Holds the state, writes the hash, tells subscribers which keys changed. */
export class LabStore {
  /** `syncHash` false: the hash is never written (a lab room's link holds the teacher token). */
  constructor(state, { syncHash = true } = {}) {
    this.state = state;
    this.syncHash = syncHash;
    this.listeners = [];
  }

  subscribe(fn) { this.listeners.push(fn); }

  get(key) { return this.state[key]; }

  /** Whether a link hid the control of `key` (`<key>_hide=true`). */
  isHidden(key) { return (this.state.hidden ?? []).includes(key); }

  update(patch, meta = {}) {
    const changed = Object.keys(patch).filter((k) => JSON.stringify(patch[k]) !== JSON.stringify(this.state[k]));
    if (!changed.length) return;
    this.state = { ...this.state, ...patch };
    const hash = '#' + serializeHash(this.state);
    if (this.syncHash && location.hash !== hash) history.replaceState(null, '', hash);
    for (const fn of this.listeners) fn(changed, this.state, meta);
  }

  /** Replace one optimizer's fields (by id). */
  updateOptimizer(id, fields, meta = {}) {
    this.update({ optimizers: this.state.optimizers.map((o) => (o.id === id ? { ...o, ...fields } : o)) },
      { ...meta, optimizer: id, fields: Object.keys(fields) });
  }
}
