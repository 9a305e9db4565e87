// Labelled controls built from the state schema and bound to the store, each with an error slot
// beside it (filled by local validation or by the server's `error` naming the field).
import { h, fmt } from './dom.js';
import { ENTRY, SCHEMA, rangeText } from './state.js';

const LABELS = {
  relu: 'ReLU', leaky_relu: 'Leaky ReLU', tanh: 'Tanh', sigmoid: 'Sigmoid', linear: 'Linear',
  auto: 'Auto', softmax: 'Softmax', he: 'He', xavier: 'Xavier', glorot: 'Glorot', random: 'Random',
  zeros: 'Zeros', gd: 'GD', momentum: 'Momentum', rmsprop: 'RMSprop', adam: 'Adam',
  constant: 'None', inverse_time: 'Inverse time', exponential: 'Exponential', inverse_sqrt: 'k/√epoch', max: 'Max',
};

/** Display text of a value of `key` (used by selects and summaries). */
export function valueLabel(key, v) {
  if (key === 'split') return v.map((r) => Math.round(r * 100)).join(' / ');
  if (key === 'batch_size' && v >= 100000) return 'All (batch)';
  if (key === 'speed' && v !== 'max') return `${v}×`;
  if (typeof v === 'number') return fmt(v);
  return LABELS[v] ?? String(v);
}

const errorSlots = new Map(); // key -> error element
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** Mark `key`'s control with `message` (null clears it). Returns false if no such control. */
export function showFieldError(key, message) {
  const slot = errorSlots.get(key);
  if (!slot) return false;
  slot.textContent = message || '';
  slot.hidden = !message;
  slot.closest('.field')?.classList.toggle('invalid', Boolean(message));
  return true;
}

/** An error slot for a key whose control is not a plain field (e.g. the layer +/− buttons). */
export function errorSlot(key) {
  const slot = h('div', { class: 'field-error', role: 'alert', hidden: true, dataset: { errorFor: key } });
  errorSlots.set(key, slot);
  return slot;
}

export function clearFieldErrors() {
  for (const key of errorSlots.keys()) showFieldError(key, null);
}

/** The state key a server error's `field` names ("config.optimizer.learning_rate", "learning_rate"). */
export function keyForField(field) {
  const path = String(field || '').replace(/^config\./, '').replace(/\.\d+$/, '');
  const e = SCHEMA.find((x) => x.path === path) || ENTRY[path]
    || SCHEMA.find((x) => x.path && x.path.split('.').pop() === path.split('.').pop());
  if (path === 'csv_id') return 'csv_id';
  return e ? e.key : null;
}

function selectOptions(e, current) {
  let values = e.choices ?? e.values;
  if (!values.some((v) => same(v, current))) values = [...values, current].sort((a, b) => (typeof a === 'number' ? a - b : 0));
  return values;
}

/** Build the input element of an entry; returns {input, set(value)}. */
function buildInput(e, id, onInput, range) {
  if (range) {
    const input = h('input', { type: 'range', id, min: e.min, max: e.max, step: range.step });
    const out = h('output', { for: id, class: 'range-value' });
    input.addEventListener('input', () => { out.textContent = range.show(Number(input.value)); });
    input.addEventListener('change', () => onInput(Number(input.value)));
    return { input, extra: out, set: (v) => { input.value = v; out.textContent = range.show(v); } };
  }
  if (e.type === 'bool') {
    const input = h('input', { type: 'checkbox', id, role: 'switch' });
    input.addEventListener('change', () => onInput(input.checked));
    return { input, set: (v) => { input.checked = v; } };
  }
  if (e.choices || e.type === 'enum') {
    const input = h('select', { id });
    let values = [];
    const set = (v) => {
      const next = selectOptions(e, v);
      if (!same(next, values)) {
        values = next;
        input.replaceChildren(...values.map((x, i) => h('option', { value: String(i) }, valueLabel(e.key, x))));
      }
      input.value = String(values.findIndex((x) => same(x, v)));
    };
    input.addEventListener('change', () => onInput(values[Number(input.value)]));
    return { input, set };
  }
  const input = h('input', { id, type: 'text', inputmode: 'decimal', spellcheck: 'false', autocomplete: 'off' });
  input.addEventListener('change', () => onInput(input.value.trim()));
  return { input, set: (v) => { input.value = v === null ? '' : typeof v === 'number' ? fmt(v, 6) : v; } };
}

function rangeMessage(e) {
  if (e.type === 'int') return `${e.label} must be a whole number in ${rangeText(e)}`;
  return `${e.label} must be a number in ${rangeText(e)}${e.nullable ? ' (or empty)' : ''}`;
}

/** A labelled control for `key`, kept in step with the store. `relevant(state)` hides it when it
 *  does not apply (e.g. β₂ with gradient descent). */
export function control(store, key, { relevant = null, label = null, className = '', range = null } = {}) {
  const e = ENTRY[key];
  const id = `ctl-${key}`;
  const error = h('div', { class: 'field-error', role: 'alert', hidden: true });
  errorSlots.set(key, error);
  const { input, set, extra } = buildInput(e, id, (raw) => {
    const ok = store.update({ [key]: raw });
    showFieldError(key, ok ? null : rangeMessage(e));
    if (!ok) set(store.get(key));
  }, range);
  const kind = e.type === 'bool' ? 'field-check' : 'field-value';
  const wrap = h('div', { class: `field ${kind} ${e.secondary ? 'secondary' : ''} ${className}`, dataset: { key } },
    h('label', { for: id }, label ?? e.label, extra ?? null), input, error);
  if (e.type === 'bool') wrap.insertBefore(input, wrap.firstChild);
  const sync = (state) => {
    set(state[key]);
    wrap.hidden = store.isHidden(key) || (relevant ? !relevant(state) : false);
  };
  sync(store.state);
  store.subscribe((changed, state) => sync(state));
  wrap.refresh = () => sync(store.state); // when `relevant` depends on something outside the state
  return wrap;
}
