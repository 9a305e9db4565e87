// The one typed state schema of the playground: defaults, the URL hash, hidden controls and the
// mapping to the server's TrainConfig all come from SCHEMA. The whole experiment lives in the
// hash, so copying the URL reproduces it; `<key>_hide=true` hides a control (classroom use).

const DATASETS = ['circle', 'xor', 'gauss', 'spiral', 'moons', 'flower', 'multi_spiral',
  'multi_blobs', 'reg_plane', 'reg_gauss', 'csv'];
export const FEATURES = ['x1', 'x2', 'x1_sq', 'x2_sq', 'x1x2', 'sin_x1', 'sin_x2'];

// kind: 'reset' (needs a new `configure`), 'live' (sent with `set`), 'ui' (browser only).
// secondary: hidden in presenter mode. choices: preset values offered by a select.
export const SCHEMA = [
  // data
  { key: 'dataset', type: 'enum', values: DATASETS, default: 'circle', path: 'data.name', kind: 'reset', label: 'Dataset' },
  { key: 'n', type: 'int', min: 10, max: 100000, default: 400, path: 'data.n', kind: 'reset', label: 'Points', choices: [100, 200, 400, 1000, 2000], secondary: true },
  { key: 'noise', type: 'number', min: 0, max: 1, default: 0, path: 'data.noise', kind: 'reset', label: 'Noise' },
  { key: 'classes', type: 'int', min: 2, max: 6, default: 3, path: 'data.classes', kind: 'reset', label: 'Classes', choices: [2, 3, 4, 5, 6] },
  { key: 'data_seed', type: 'int', min: 0, max: 4294967295, default: 0, path: 'data.seed', kind: 'reset', label: 'Data seed', secondary: true },
  { key: 'split', type: 'numbers', length: 3, min: 0, max: 1, default: [0.8, 0.2, 0], path: 'data.split', kind: 'reset', label: 'Train / dev / test', secondary: true,
    choices: [[0.8, 0.2, 0], [0.7, 0.15, 0.15], [0.6, 0.2, 0.2], [0.5, 0.5, 0], [0.98, 0.01, 0.01], [0.3, 0.7, 0]] },
  { key: 'scale', type: 'numbers', length: 2, min: 0.001, max: 1000, default: [1, 1], path: 'data.scale', kind: 'reset', label: 'Input scales (x1, x2)', secondary: true },
  { key: 'csv_id', type: 'string', default: '', kind: 'reset', label: 'Uploaded CSV', secondary: true },
  // features and network
  { key: 'features', type: 'strings', values: FEATURES, default: ['x1', 'x2'], path: 'features', kind: 'reset', label: 'Features', csvValues: true },
  { key: 'normalize', type: 'bool', default: true, path: 'normalize', kind: 'reset', label: 'Normalize inputs' },
  { key: 'hidden', type: 'ints', min: 1, max: 1024, maxLength: 10, default: [4, 2], path: 'network.hidden', kind: 'reset', label: 'Hidden layers' },
  { key: 'activation', type: 'enum', values: ['relu', 'leaky_relu', 'tanh', 'sigmoid', 'linear'], default: 'relu', path: 'network.activation', kind: 'reset', label: 'Activation' },
  { key: 'output', type: 'enum', values: ['auto', 'sigmoid', 'softmax', 'linear'], default: 'auto', path: 'network.output', kind: 'reset', label: 'Output layer', secondary: true },
  { key: 'init', type: 'enum', values: ['he', 'xavier', 'glorot', 'random', 'zeros'], default: 'he', path: 'network.init', kind: 'reset', label: 'Init' },
  { key: 'init_scale', type: 'number', min: 1e-6, max: 100, default: 0.01, path: 'network.init_scale', kind: 'reset', label: 'Random scale', secondary: true, choices: [0.001, 0.01, 0.1, 1, 10] },
  { key: 'batch_norm', type: 'bool', default: false, path: 'network.batch_norm', kind: 'reset', label: 'Batch norm' },
  { key: 'seed', type: 'int', min: 0, max: 4294967295, default: 1, path: 'seed', kind: 'reset', label: 'Init seed', secondary: true },
  // optimization
  { key: 'optimizer', type: 'enum', values: ['gd', 'momentum', 'rmsprop', 'adam'], default: 'adam', path: 'optimizer.name', kind: 'reset', label: 'Optimizer' },
  { key: 'learning_rate', type: 'number', min: 1e-7, max: 100, default: 0.01, path: 'optimizer.learning_rate', kind: 'live', label: 'Learning rate',
    choices: [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10, 100] },
  { key: 'beta', type: 'number', min: 0, max: 0.9999, default: 0.9, path: 'optimizer.beta', kind: 'live', label: 'β', secondary: true },
  { key: 'beta1', type: 'number', min: 0, max: 0.9999, default: 0.9, path: 'optimizer.beta1', kind: 'live', label: 'β₁', secondary: true },
  { key: 'beta2', type: 'number', min: 0, max: 0.99999, default: 0.999, path: 'optimizer.beta2', kind: 'live', label: 'β₂', secondary: true },
  { key: 'epsilon', type: 'number', min: 1e-12, max: 1, default: 1e-8, path: 'optimizer.epsilon', kind: 'live', label: 'ε', secondary: true },
  { key: 'bias_correction', type: 'bool', default: true, path: 'optimizer.bias_correction', kind: 'live', label: 'Bias correction', secondary: true },
  { key: 'schedule', type: 'enum', values: ['constant', 'inverse_time', 'exponential', 'inverse_sqrt'], default: 'constant', path: 'schedule.name', kind: 'live', label: 'Decay' },
  { key: 'decay_rate', type: 'number', min: 0, max: 1000, default: 1, path: 'schedule.decay_rate', kind: 'live', label: 'Decay rate', secondary: true },
  { key: 'decay_interval', type: 'int', min: 0, max: 100000, default: 0, path: 'schedule.interval', kind: 'live', label: 'Staircase (epochs)', secondary: true },
  { key: 'decay_base', type: 'number', min: 0.0001, max: 1, default: 0.95, path: 'schedule.base', kind: 'live', label: 'Base', secondary: true },
  { key: 'decay_k', type: 'number', min: 0.0001, max: 1000, default: 1, path: 'schedule.k', kind: 'live', label: 'k', secondary: true },
  { key: 'batch_size', type: 'int', min: 1, max: 100000, default: 64, path: 'batch_size', kind: 'reset', label: 'Batch size', choices: [1, 8, 16, 32, 64, 128, 256, 512, 100000] },
  { key: 'epochs', type: 'int', min: 0, max: 1000000, default: 1000, path: 'epochs', kind: 'reset', label: 'Epochs', secondary: true, choices: [10, 100, 1000, 10000, 100000] },
  // regularization
  { key: 'l2', type: 'number', min: 0, max: 100, default: 0, path: 'regularization.l2', kind: 'live', label: 'L2 λ', choices: [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10] },
  { key: 'l1', type: 'number', min: 0, max: 100, default: 0, path: 'regularization.l1', kind: 'live', label: 'L1 λ', secondary: true, choices: [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10] },
  { key: 'keep_prob', type: 'number', min: 0.01, max: 1, default: 1, path: 'regularization.keep_prob', kind: 'live', label: 'Keep prob', choices: [1, 0.95, 0.9, 0.8, 0.7, 0.5, 0.3] },
  { key: 'early_stopping', type: 'bool', default: false, path: 'early_stopping', kind: 'reset', label: 'Early stopping' },
  { key: 'patience', type: 'int', min: 1, max: 100000, default: 50, path: 'early_stopping.patience', kind: 'reset', label: 'Patience', secondary: true },
  { key: 'human_error', type: 'number', min: 0, max: 1, default: null, nullable: true, path: 'human_error', kind: 'live', label: 'Human-level error' },
  // browser only
  { key: 'speed', type: 'enum', values: ['1', '3', '10', '30', '100', 'max'], default: '10', kind: 'ui', label: 'Steps per frame' },
  { key: 'show_test', type: 'bool', default: false, kind: 'ui', label: 'Show dev/test points' },
  { key: 'discretize', type: 'bool', default: false, kind: 'ui', label: 'Discretize output' },
  { key: 'presenter', type: 'bool', default: false, kind: 'ui', label: 'Presenter' },
  { key: 'lesson', type: 'string', default: '', kind: 'ui', label: 'Lesson' },
];

export const ENTRY = Object.fromEntries(SCHEMA.map((e) => [e.key, e]));

const clone = (v) => (Array.isArray(v) ? v.slice() : v);

export function defaults() {
  return Object.fromEntries(SCHEMA.map((e) => [e.key, clone(e.default)]));
}

const inRange = (e, x) => Number.isFinite(x) && (e.min === undefined || x >= e.min) && (e.max === undefined || x <= e.max);

/** Coerce a raw value (string from the hash or a control, or a typed value) to the entry's type.
 *  Returns undefined when it is not valid. */
export function coerce(e, raw) {
  if (raw === undefined) return undefined;
  if (e.nullable && (raw === null || raw === '')) return null;
  const list = (r) => (Array.isArray(r) ? r : String(r).split(',').filter((s) => s !== ''));
  switch (e.type) {
    case 'bool':
      if (raw === true || raw === 'true' || raw === '1') return true;
      if (raw === false || raw === 'false' || raw === '0') return false;
      return undefined;
    case 'int': {
      const x = Number(raw);
      return Number.isInteger(x) && inRange(e, x) ? x : undefined;
    }
    case 'number': {
      const x = Number(raw);
      return raw !== '' && inRange(e, x) ? x : undefined;
    }
    case 'enum':
      return e.values.includes(String(raw)) ? String(raw) : undefined;
    case 'string':
      return String(raw).slice(0, 200);
    case 'ints': {
      const xs = list(raw).map(Number);
      return xs.length <= e.maxLength && xs.every((x) => Number.isInteger(x) && inRange(e, x)) ? xs : undefined;
    }
    case 'numbers': {
      const xs = list(raw).map(Number);
      return xs.length === e.length && xs.every((x) => inRange(e, x)) ? xs : undefined;
    }
    case 'strings': {
      const xs = list(raw).map(String);
      const ok = (s) => e.values.includes(s) || (e.csvValues && /^x[1-9][0-9]*$/.test(s));
      return xs.length > 0 && xs.every(ok) && new Set(xs).size === xs.length ? xs : undefined;
    }
    default:
      return undefined;
  }
}

const format = (v) => (Array.isArray(v) ? v.join(',') : v === null ? '' : String(v));

/** What a hash value of `e` may be, in words (for the notice about an ignored value). */
export function allowedText(e) {
  if (e.type === 'enum') return e.values.filter((v) => v !== 'csv').join(', ');
  if (e.type === 'bool') return 'true or false';
  if (e.type === 'int' || e.type === 'number') return `${e.type === 'int' ? 'a whole number' : 'a number'} from ${e.min} to ${e.max}`;
  if (e.type === 'strings') return e.values.join(', ');
  if (e.type === 'numbers') return `${e.length} numbers from ${e.min} to ${e.max}`;
  if (e.type === 'ints') return `up to ${e.maxLength} whole numbers from ${e.min} to ${e.max}`;
  return 'text';
}

/** Parse a location hash into {state, hidden, ignored}; unknown keys are skipped, invalid values
 *  keep the default and are listed in `ignored` ({key, value, label, allowed, fallback}) so the
 *  page can say so. */
export function parseHash(hash) {
  const state = defaults();
  const hidden = new Set();
  const ignored = [];
  const params = new URLSearchParams(String(hash || '').replace(/^#/, ''));
  for (const [k, v] of params) {
    if (k.endsWith('_hide')) {
      const key = k.slice(0, -5);
      if (v === 'true' && ENTRY[key]) hidden.add(key);
      continue;
    }
    const e = ENTRY[k];
    if (!e) continue;
    const x = coerce(e, v);
    if (x !== undefined) state[k] = x;
    else ignored.push({ key: k, value: v, label: e.label, allowed: allowedText(e), fallback: format(e.default) });
  }
  return { state, hidden, ignored };
}

/** Serialize every key (not only changed ones: a copied URL must not depend on today's defaults). */
export function serializeHash(state, hidden = new Set()) {
  const parts = SCHEMA.map((e) => `${e.key}=${encodeURIComponent(format(state[e.key])).replace(/%2C/g, ',')}`);
  for (const key of hidden) parts.push(`${key}_hide=true`);
  return parts.join('&');
}

function setPath(obj, path, value) {
  const keys = path.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) o = o[k] ??= {};
  o[keys.at(-1)] = value;
}

function getPath(obj, path) {
  return path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), obj);
}

/** The TrainConfig (docs/config.md) the state describes. */
export function toConfig(state) {
  const config = {};
  for (const e of SCHEMA) {
    if (!e.path || e.key === 'early_stopping' || e.key === 'patience') continue;
    let v = clone(state[e.key]);
    if (e.key === 'output' && v === 'auto') v = null;
    if (e.key === 'decay_interval' && !v) v = null;
    setPath(config, e.path, v);
  }
  config.early_stopping = state.early_stopping ? { patience: state.patience } : null;
  return config;
}

/** State from a (possibly partial) TrainConfig, e.g. a lesson preset or a saved run, on top of `base`. */
export function fromConfig(config, base = defaults()) {
  const state = { ...base };
  for (const e of SCHEMA) {
    if (!e.path) continue;
    let v = getPath(config, e.path);
    if (e.key === 'early_stopping') { state.early_stopping = v != null && v !== false; continue; }
    if (v === undefined) continue;
    if (e.key === 'output' && v === null) v = 'auto';
    if (e.key === 'decay_interval' && v === null) v = 0;
    if (e.key === 'features' && v === null) v = e.default;
    if (e.key === 'keep_prob' && Array.isArray(v)) v = v[0] ?? 1;
    const x = coerce(e, v);
    if (x !== undefined) state[e.key] = x;
  }
  return state;
}

/** A new experiment from `config` (a lesson or a saved run): defaults, then the config, keeping
 *  the browser-only keys of `current` (speed, presenter, …), then `extra`. */
export function withConfig(current, config, extra = {}) {
  const ui = Object.fromEntries(SCHEMA.filter((e) => e.kind === 'ui').map((e) => [e.key, current[e.key]]));
  return { ...fromConfig(config, { ...defaults(), ...ui }), ...extra };
}

/** Live `set` fields for changed keys (the names docs/protocol.md gives), or null. */
export function liveFields(keys, state) {
  const fields = {};
  for (const key of keys) {
    const e = ENTRY[key];
    if (e.kind !== 'live') continue;
    if (e.path.startsWith('schedule.')) fields.schedule = toConfig(state).schedule;
    else fields[e.path.split('.').pop()] = state[key];
  }
  return Object.keys(fields).length ? fields : null;
}

export const needsReset = (keys) => keys.some((k) => ENTRY[k].kind === 'reset');

const same = (a, b) => (Array.isArray(a) && Array.isArray(b) ? a.length === b.length && a.every((x, i) => x === b[i]) : a === b);

/** Holds the state, keeps the URL hash in step and tells subscribers which keys changed:
 *  fn(changed, state, {restart}); `restart` = start a new run from this state even if no key
 *  changed (a lesson or a saved run was chosen). */
export class Store {
  /** `syncHash`: keep the URL hash in step (false on a room page, whose hash holds its secret). */
  constructor({ state, hidden }, { syncHash = true } = {}) {
    this.syncHash = syncHash;
    this.state = state;
    this.hidden = hidden;
    this.listeners = [];
  }

  get(key) { return this.state[key]; }

  isHidden(key) { return this.hidden.has(key); }

  subscribe(fn) { this.listeners.push(fn); }

  /** Apply a patch of raw or typed values; invalid values are rejected (returns false).
   *  `replace`: `patch` is a whole typed state. `restart`: tell subscribers to start the run
   *  afresh, even when nothing (or only live keys) changed. */
  update(patch, { replace = false, restart = false } = {}) {
    const next = replace ? { ...patch } : { ...this.state };
    if (!replace) {
      for (const [key, raw] of Object.entries(patch)) {
        const x = coerce(ENTRY[key], raw);
        if (x === undefined) return false;
        next[key] = x;
      }
    }
    const changed = SCHEMA.map((e) => e.key).filter((k) => !same(next[k], this.state[k]));
    if (!changed.length && !restart) return true;
    this.state = next;
    this.writeHash();
    for (const fn of this.listeners) fn(changed, this.state, { restart });
    return true;
  }

  writeHash() {
    if (!this.syncHash) return;
    const hash = '#' + serializeHash(this.state, this.hidden);
    if (location.hash !== hash) history.replaceState(null, '', hash);
  }
}
