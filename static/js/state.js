// The one typed state schema of the playground: defaults, the URL hash, hidden controls and the
// mapping to the server's TrainConfig all come from SCHEMA. The whole experiment lives in the
// hash, so copying the URL reproduces it; `<key>_hide=true` hides a control (classroom use).
//
// Every range, default, choice and live key comes from the TrainConfig JSON schema (the pydantic
// models of engine/config.py), which the page embeds (<script id="config-schema">, templates/
// index.html); a module loaded without it (a test) fetches /api/config-schema. This file keeps
// only what the page adds: labels, order, preset choices and the browser-only keys.

export const CONFIG_SCHEMA = await loadConfigSchema();

async function loadConfigSchema() {
  const tag = globalThis.document?.getElementById('config-schema');
  if (tag) return JSON.parse(tag.textContent);
  const response = await fetch('/api/config-schema');
  return response.json();
}

const resolve = (node) => {
  while (node?.$ref) node = CONFIG_SCHEMA.$defs[node.$ref.split('/').pop()];
  return node;
};

/** The JSON schema of a config key ('optimizer.learning_rate'): {node, nullable, live}, where
 *  node is the non-null branch (for a nullable key), `default` the key's own and `live` true
 *  when the key or an object holding it carries the schema's `live` mark. */
export function configField(path) {
  let node = CONFIG_SCHEMA;
  let live = false;
  let field = null;
  for (const part of path.split('.')) {
    const owner = resolve(node);
    const options = owner.anyOf ? owner.anyOf.map(resolve) : [owner];
    field = options.map((o) => o.properties?.[part]).find(Boolean);
    if (!field) throw new Error(`config-schema: no key ${path}`);
    live ||= Boolean(field.live);
    node = field;
  }
  const options = (field.anyOf ?? [field]).map(resolve);
  const some = options.filter((o) => o.type !== 'null');
  return { node: some[0], nullable: some.length < options.length, live, default: field.default };
}

/** Which hyperparameters each optimizer reads ({adam: ['beta1', …]}), from the schema's `used_by` marks. */
export const OPTIMIZER_USES = (() => {
  const fields = resolve(CONFIG_SCHEMA.properties.optimizer).properties;
  const uses = Object.fromEntries(fields.name.enum.map((name) => [name, []]));
  for (const [key, f] of Object.entries(fields)) for (const name of f.used_by ?? []) uses[name].push(key);
  return uses;
})();

const bounds = (s) => ({
  ...(s.minimum ?? s.exclusiveMinimum) !== undefined && { min: s.minimum ?? s.exclusiveMinimum },
  ...(s.maximum ?? s.exclusiveMaximum) !== undefined && { max: s.maximum ?? s.exclusiveMaximum },
  ...'exclusiveMinimum' in s && { minOpen: true },
  ...'exclusiveMaximum' in s && { maxOpen: true },
});

/** Type, range, choices, default and kind of an entry with a config path, from the schema; the
 *  page's own properties (label, order, …, and a different representation of null) win. */
function fromSchema(e) {
  if (!e.path) return e;
  const { node, nullable, live, default: dflt } = configField(e.path);
  const derived = { kind: live ? 'live' : 'reset', default: dflt };
  if (node.enum) {
    const order = e.order ?? [];
    const rank = (v) => (order.includes(v) ? order.indexOf(v) : order.length);
    Object.assign(derived, { type: 'enum', values: [...(e.extraValues ?? []), ...node.enum.slice().sort((a, b) => rank(a) - rank(b))] });
  } else if (node.type === 'integer' || node.type === 'number') {
    Object.assign(derived, { type: node.type === 'integer' ? 'int' : 'number' }, bounds(node), nullable && e.default === undefined && { nullable: true });
  } else if (node.type === 'boolean') {
    derived.type = 'bool';
  } else if (node.prefixItems) {
    Object.assign(derived, { type: 'numbers', length: node.prefixItems.length }, bounds(node.prefixItems[0]));
  } else if (node.items?.type === 'integer') {
    Object.assign(derived, { type: 'ints', maxLength: node.maxItems }, bounds(node.items));
  } else if (node.items?.type === 'string') {
    derived.type = 'strings';
  }
  const entry = { ...derived, ...e };
  delete entry.order;
  delete entry.extraValues;
  return entry;
}

export const FEATURES = ['x1', 'x2', 'x1_sq', 'x2_sq', 'x1x2', 'sin_x1', 'sin_x2'];

// The page's entries, in the page's order. kind (from the schema): 'reset' (needs a new
// `configure`), 'live' (sent with `set`), 'ui' (browser only, given here). secondary: hidden in
// presenter mode. choices: preset values offered by a select. order: how a select lists the
// schema's values. A `default` here is the page's representation of the config's null (or, for
// epochs, the page's longer run); a `min` here is the page's 0 for "off" (decay_interval).
const PAGE = [
  // data
  { key: 'dataset', path: 'data.name', label: 'Dataset' },
  { key: 'n', path: 'data.n', label: 'Points', choices: [100, 200, 400, 1000, 2000], secondary: true },
  { key: 'noise', path: 'data.noise', label: 'Noise' },
  { key: 'classes', path: 'data.classes', label: 'Classes', choices: [2, 3, 4, 5, 6] },
  { key: 'data_seed', path: 'data.seed', label: 'Data seed', secondary: true },
  { key: 'split', path: 'data.split', label: 'Train / dev / test', secondary: true,
    choices: [[0.8, 0.2, 0], [0.7, 0.15, 0.15], [0.6, 0.2, 0.2], [0.5, 0.5, 0], [0.98, 0.01, 0.01], [0.3, 0.7, 0]] },
  { key: 'scale', path: 'data.scale', label: 'Input scales (x1, x2)', secondary: true },
  { key: 'csv_id', type: 'string', default: '', kind: 'reset', label: 'Uploaded CSV', secondary: true },
  // features and network
  { key: 'features', path: 'features', values: FEATURES, default: ['x1', 'x2'], label: 'Features', csvValues: true },
  { key: 'normalize', path: 'normalize', label: 'Normalize inputs' },
  { key: 'hidden', path: 'network.hidden', label: 'Hidden layers' },
  { key: 'activation', path: 'network.activation', label: 'Activation', order: ['relu', 'leaky_relu', 'tanh', 'sigmoid', 'linear'] },
  { key: 'output', path: 'network.output', extraValues: ['auto'], default: 'auto', label: 'Output layer', secondary: true },
  { key: 'init', path: 'network.init', label: 'Init', order: ['he', 'xavier', 'glorot', 'random', 'zeros'] },
  { key: 'init_scale', path: 'network.init_scale', label: 'Random scale', secondary: true, choices: [0.001, 0.01, 0.1, 1, 10] },
  { key: 'batch_norm', path: 'network.batch_norm', label: 'Batch norm' },
  { key: 'seed', path: 'seed', label: 'Init seed', secondary: true },
  // optimization
  { key: 'optimizer', path: 'optimizer.name', label: 'Optimizer' },
  { key: 'learning_rate', path: 'optimizer.learning_rate', label: 'Learning rate',
    choices: [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10, 100] },
  { key: 'beta', path: 'optimizer.beta', label: 'β', secondary: true },
  { key: 'beta1', path: 'optimizer.beta1', label: 'β₁', secondary: true },
  { key: 'beta2', path: 'optimizer.beta2', label: 'β₂', secondary: true },
  { key: 'epsilon', path: 'optimizer.epsilon', label: 'ε', secondary: true },
  { key: 'bias_correction', path: 'optimizer.bias_correction', label: 'Bias correction', secondary: true },
  { key: 'schedule', path: 'schedule.name', label: 'Decay' },
  { key: 'decay_rate', path: 'schedule.decay_rate', label: 'Decay rate', secondary: true },
  { key: 'decay_interval', path: 'schedule.interval', min: 0, default: 0, label: 'Staircase (epochs)', secondary: true },
  { key: 'decay_base', path: 'schedule.base', label: 'Base', secondary: true },
  { key: 'decay_k', path: 'schedule.k', label: 'k', secondary: true },
  { key: 'batch_size', path: 'batch_size', label: 'Batch size', choices: [1, 8, 16, 32, 64, 128, 256, 512, 100000] },
  { key: 'epochs', path: 'epochs', default: 1000, label: 'Epochs', secondary: true, choices: [10, 100, 1000, 10000, 100000] },
  // regularization
  { key: 'l2', path: 'regularization.l2', label: 'L2 λ', choices: [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10] },
  { key: 'l1', path: 'regularization.l1', label: 'L1 λ', secondary: true, choices: [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10] },
  { key: 'keep_prob', path: 'regularization.keep_prob', label: 'Keep prob', choices: [1, 0.95, 0.9, 0.8, 0.7, 0.5, 0.3] },
  { key: 'early_stopping', path: 'early_stopping', type: 'bool', default: false, label: 'Early stopping' },
  { key: 'patience', path: 'early_stopping.patience', label: 'Patience', secondary: true },
  { key: 'human_error', path: 'human_error', label: 'Human-level error' },
  // browser only
  { key: 'speed', type: 'enum', values: ['1', '3', '10', '30', '100', 'max'], default: '10', kind: 'ui', label: 'Steps per frame' },
  { key: 'show_test', type: 'bool', default: false, kind: 'ui', label: 'Show dev/test points' },
  { key: 'discretize', type: 'bool', default: false, kind: 'ui', label: 'Discretize output' },
  { key: 'presenter', type: 'bool', default: false, kind: 'ui', label: 'Presenter' },
  { key: 'lesson', type: 'string', default: '', kind: 'ui', label: 'Lesson' },
];

export const SCHEMA = PAGE.map(fromSchema);

export const ENTRY = Object.fromEntries(SCHEMA.map((e) => [e.key, e]));

const clone = (v) => (Array.isArray(v) ? v.slice() : v);

export function defaults() {
  return Object.fromEntries(SCHEMA.map((e) => [e.key, clone(e.default)]));
}

const inRange = (e, x) => Number.isFinite(x)
  && (e.min === undefined || (e.minOpen ? x > e.min : x >= e.min))
  && (e.max === undefined || (e.maxOpen ? x < e.max : x <= e.max));

/** An entry's range in words: '[0, 1]', '(0, 100]'. */
export const rangeText = (e) => `${e.minOpen ? '(' : '['}${e.min}, ${e.max}${e.maxOpen ? ')' : ']'}`;

const between = (e) => `${e.minOpen ? 'above' : 'from'} ${e.min} ${e.maxOpen ? 'and below' : 'to'} ${e.max}`;

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
  if (e.type === 'int' || e.type === 'number') return `${e.type === 'int' ? 'a whole number' : 'a number'} ${between(e)}`;
  if (e.type === 'strings') return e.values.join(', ');
  if (e.type === 'numbers') return `${e.length} numbers ${between(e)}`;
  if (e.type === 'ints') return `up to ${e.maxLength} whole numbers ${between(e)}`;
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
