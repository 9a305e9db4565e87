// The search space: which hyperparameters to sample, each with a scale and a range (or choices).
// A row per candidate; `spaceOf()` gives the sweep's `space` (docs/config.md "Sweeps"), keyed
// by dotted config paths, and `narrow()` sets new ranges (the parallel plot's "Zoom in").
import { h } from '../dom.js';
import { configField, OPTIMIZER_USES } from '../state.js';

// scale -> the space's distribution name. 'beta': 1 − β sampled log-uniformly (β near 1 is sensitive).
export const SCALES = {
  log: { dist: 'log_uniform', label: 'log' },
  linear: { dist: 'uniform', label: 'linear' },
  beta: { dist: 'one_minus_log_uniform', label: '1 − β log' },
  int: { dist: 'int_uniform', label: 'integer' },
  choice: { dist: 'choice', label: 'choice' },
};
export const SCALE_OF = Object.fromEntries(Object.entries(SCALES).map(([k, v]) => [v.dist, k]));

// The candidates, in the page's order. key: the playground state key the row depends on.
const CANDIDATES = [
  { path: 'optimizer.learning_rate', label: 'Learning rate α', short: 'α', scales: ['log', 'linear', 'choice'], scale: 'log', lo: 1e-4, hi: 1, on: true },
  { path: 'optimizer.beta', label: 'β (momentum)', short: 'β', scales: ['beta', 'linear', 'choice'], scale: 'beta', lo: 0.8, hi: 0.999, uses: 'beta' },
  { path: 'optimizer.beta1', label: 'β₁', short: 'β₁', scales: ['beta', 'linear', 'choice'], scale: 'beta', lo: 0.8, hi: 0.99, uses: 'beta1' },
  { path: 'optimizer.beta2', label: 'β₂', short: 'β₂', scales: ['beta', 'linear', 'choice'], scale: 'beta', lo: 0.99, hi: 0.9999, uses: 'beta2' },
  { path: 'regularization.l2', label: 'L2 λ', short: 'λ', scales: ['log', 'linear', 'choice'], scale: 'log', lo: 1e-4, hi: 1 },
  { path: 'regularization.keep_prob', label: 'Keep prob', short: 'keep', scales: ['linear', 'choice'], scale: 'linear', lo: 0.5, hi: 1 },
  { path: 'network.hidden.0', label: 'Units in layer 1', short: 'n[1]', scales: ['int', 'choice'], scale: 'int', lo: 2, hi: 16, layer: 1, integer: true },
  { path: 'network.hidden.1', label: 'Units in layer 2', short: 'n[2]', scales: ['int', 'choice'], scale: 'int', lo: 2, hi: 16, layer: 2, integer: true },
  { path: 'batch_size', label: 'Mini-batch size', short: 'batch', scales: ['choice', 'int'], scale: 'choice', choices: '16, 32, 64, 128', integer: true },
  { path: 'network.activation', label: 'Activation', short: 'g', scales: ['choice'], scale: 'choice', choices: 'relu, tanh' },
];

/** '16, 32' -> [16, 32]; 'relu, tanh' -> ['relu', 'tanh'] (numbers where they parse). */
const parseChoices = (text) => String(text).split(',').map((s) => s.trim()).filter(Boolean)
  .map((s) => (Number.isFinite(Number(s)) ? Number(s) : s));

/** The rows. `onChange()` after any edit. Returns {spaceOf, narrow, showError, clearErrors, applies, entries}. */
export function createSpace(root, state, onChange) {
  const uses = OPTIMIZER_USES[state.optimizer] ?? [];
  const rows = [];
  for (const c of CANDIDATES) {
    let why = null; // why this candidate does not apply to the experiment
    if (c.uses && !uses.includes(c.uses)) why = `${state.optimizer} does not use ${c.label}`;
    if (c.layer && (state.hidden?.length ?? 0) < c.layer) why = `the network has ${state.hidden?.length ?? 0} hidden layer${state.hidden?.length === 1 ? '' : 's'}`;
    rows.push(makeRow(c, why, onChange));
  }
  root.replaceChildren(...rows.map((r) => r.el));

  return {
    rows,
    /** The sweep's space: {path: {dist: [lo, hi] | [choices]}} for every ticked row; throws Error(row) on a bad range. */
    spaceOf() {
      const space = {};
      for (const r of rows) if (r.on()) space[r.c.path] = r.value();
      return space;
    },
    /** Set rows from a space (a zoom): ticks them and fills range and scale. */
    narrow(space) {
      for (const r of rows) r.set(space[r.c.path]);
      onChange();
    },
    /** Mark the row named by an error field ('sweep.space.optimizer.learning_rate.log_uniform'); false if none. */
    showError(field, message) {
      const path = field.replace(/^sweep\.space\./, '');
      const row = rows.find((r) => path === r.c.path || path.startsWith(`${r.c.path}.`));
      if (!row || !field.startsWith('sweep.space.')) return false;
      row.error(message);
      return true;
    },
    clearErrors() { for (const r of rows) r.error(null); },
    label: (path) => CANDIDATES.find((c) => c.path === path)?.label ?? path,
    short: (path) => CANDIDATES.find((c) => c.path === path)?.short ?? path,
  };
}

function makeRow(c, why, onChange) {
  const id = `sp-${c.path.replace(/\./g, '-')}`;
  const field = c.path.startsWith('network.hidden') ? null : configField(c.path.replace(/\.\d+$/, ''));
  const tick = h('input', { type: 'checkbox', id, disabled: Boolean(why) });
  tick.checked = Boolean(c.on) && !why;
  const scale = h('select', { id: `${id}-scale`, 'aria-label': `${c.label}: scale` },
    c.scales.map((s) => h('option', { value: s }, SCALES[s].label)));
  scale.value = c.scale;
  const lo = h('input', { type: 'text', id: `${id}-lo`, inputmode: 'decimal', 'aria-label': `${c.label}: from`, value: c.lo ?? '' });
  const hi = h('input', { type: 'text', id: `${id}-hi`, inputmode: 'decimal', 'aria-label': `${c.label}: to`, value: c.hi ?? '' });
  const choices = h('input', { type: 'text', id: `${id}-choices`, class: 'choices', 'aria-label': `${c.label}: values, comma-separated`,
    value: c.choices ?? defaultChoices(c) });
  const range = h('div', { class: 'space-range' }, h('span', { class: 'muted' }, 'from'), lo, h('span', { class: 'muted' }, 'to'), hi);
  const list = h('div', { class: 'space-range' }, h('span', { class: 'muted' }, 'values'), choices);
  const message = h('div', { class: 'field-error', role: 'alert', hidden: true });
  const note = why ? h('span', { class: 'space-note muted' }, why) : null;
  const el = h('div', { class: 'space-row', dataset: { path: c.path } },
    h('div', { class: 'space-head' }, tick, h('label', { for: id }, c.label), note, scale),
    range, list, message);
  const sync = () => {
    el.classList.toggle('off', !tick.checked);
    scale.disabled = !tick.checked;
    range.hidden = !tick.checked || scale.value === 'choice';
    list.hidden = !tick.checked || scale.value !== 'choice';
    if (why) scale.hidden = true;
  };
  for (const input of [tick, scale, lo, hi, choices]) {
    input.addEventListener('change', () => { sync(); message.hidden = true; el.classList.remove('invalid'); onChange(); });
  }
  sync();
  const hint = field?.node ? ` (the config allows ${field.node.minimum ?? field.node.exclusiveMinimum ?? '…'} to ${field.node.maximum ?? field.node.exclusiveMaximum ?? '…'})` : '';

  return {
    c, el,
    on: () => tick.checked && !why,
    value() {
      const s = scale.value;
      if (s === 'choice') {
        const values = parseChoices(choices.value);
        if (!values.length) throw rowError(this, 'give at least one value, comma-separated');
        return { choice: values };
      }
      const a = Number(lo.value);
      const b = Number(hi.value);
      if (lo.value.trim() === '' || hi.value.trim() === '' || !Number.isFinite(a) || !Number.isFinite(b)) throw rowError(this, `give a range: two numbers${hint}`);
      if (!(a < b) && !(s === 'int' && a === b)) throw rowError(this, `"from" must be below "to" (got ${a} and ${b})`);
      if (s === 'log' && a <= 0) throw rowError(this, 'a log scale needs numbers above 0');
      if (s === 'beta' && (a < 0 || b >= 1)) throw rowError(this, 'β on the 1 − β scale must be in [0, 1)');
      if (s === 'int' && (!Number.isInteger(a) || !Number.isInteger(b))) throw rowError(this, 'an integer range needs whole numbers');
      return { [SCALES[s].dist]: [a, b] };
    },
    set(dist) {
      if (!dist || why) { tick.checked = false; sync(); return; }
      const [name, values] = Object.entries(dist)[0];
      tick.checked = true;
      scale.value = SCALE_OF[name];
      if (name === 'choice') choices.value = values.map((v) => (Array.isArray(v) ? JSON.stringify(v) : v)).join(', ');
      else { lo.value = fmtRange(values[0]); hi.value = fmtRange(values[1]); }
      message.hidden = true;
      el.classList.remove('invalid');
      sync();
    },
    error(text) {
      message.hidden = !text;
      message.textContent = text ?? '';
      el.classList.toggle('invalid', Boolean(text));
    },
  };
}

function rowError(row, text) {
  row.error(text);
  const err = new Error(`${row.c.label}: ${text}`);
  err.row = row;
  return err;
}

function defaultChoices(c) {
  if (c.integer) return `${c.lo ?? 2}, ${Math.round(((c.lo ?? 2) + (c.hi ?? 16)) / 2)}, ${c.hi ?? 16}`;
  if (c.scale === 'log') return '0.001, 0.01, 0.1';
  return `${c.lo}, ${c.hi}`;
}

/** A range end as typed: short, no float noise (0.30000000000000004 -> 0.3; 0.000123 -> 0.000123). */
const fmtRange = (x) => (Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(3))));
