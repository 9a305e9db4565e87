// The hyperparameter bar under the top bar: optimization, network, regularization and input
// controls, grouped; controls that do not apply to the current choice are hidden.
//
// Layout: the bar wraps whole units (a unit never breaks across lines), and each unit keeps the
// width of its widest variant (css: .hp-unit min-width), so choosing Adam, a learning-rate decay,
// random init or early stopping fills room kept for it instead of pushing the rest of the bar
// onto other lines. Where the bar breaks depends on the window's width alone.
import { h } from '../dom.js';
import { ENTRY, OPTIMIZER_USES } from '../state.js';
import { control } from '../widgets.js';

// An optimizer's hyperparameter applies when the chosen optimizer reads it (the config schema's
// `used_by` marks, engine/config.py); absent from every optimizer's list: always.
const hyperparameter = (key) => {
  const name = ENTRY[key].path?.startsWith('optimizer.') ? ENTRY[key].path.split('.').pop() : null;
  return Object.values(OPTIMIZER_USES).some((keys) => keys.includes(name)) ? name : null;
};
const relevant = (key) => {
  const name = hyperparameter(key);
  return name ? (s) => OPTIMIZER_USES[s.optimizer].includes(name) : RELEVANT[key];
};

// key -> when it applies (absent = always)
const RELEVANT = {
  decay_rate: (s) => s.schedule === 'inverse_time',
  decay_interval: (s) => s.schedule === 'inverse_time',
  decay_base: (s) => s.schedule === 'exponential',
  decay_k: (s) => s.schedule === 'inverse_sqrt',
  init_scale: (s) => s.init === 'random',
  patience: (s) => s.early_stopping,
};

// Units in reading order: [id, visible title or null (a unit continuing the one before), name
// for screen readers, keys]. The controls that come and go are last in their unit, and the
// learning-rate decay unit last on its line: what appears takes room at the end of a line.
// The output layer and input normalization sit in the network view, next to what they change;
// early stopping is regularization, as in the course.
const UNITS = [
  ['optimization', 'Optimization', 'Optimization', ['optimizer', 'learning_rate', 'beta', 'beta1', 'beta2', 'epsilon', 'bias_correction']],
  ['batches', null, 'Mini-batches and epochs', ['batch_size', 'epochs']],
  ['schedule', null, 'Learning-rate decay', ['schedule', 'decay_rate', 'decay_interval', 'decay_base', 'decay_k']],
  ['network', 'Network', 'Network', ['activation', 'batch_norm', 'init', 'init_scale']],
  ['regularization', 'Regularization', 'Regularization', ['l2', 'l1', 'keep_prob', 'early_stopping', 'patience']],
];

// The optimizer's own controls sit in fixed slots (css: .hp-slot), so that switching between
// momentum, RMSprop and Adam leaves every control that stays where it was.
const SLOTS = { beta: 'beta1', beta1: 'beta1', beta2: 'beta2', epsilon: 'epsilon', bias_correction: 'bias' };

export function createHyperparams(root, store) {
  for (const [id, title, name, keys] of UNITS) {
    const slots = {};
    const items = [];
    for (const key of keys) {
      const field = control(store, key, { relevant: relevant(key) });
      const slot = SLOTS[key];
      if (!slot) { items.push(field); continue; }
      if (!slots[slot]) items.push(slots[slot] = h('span', { class: 'hp-slot', dataset: { slot } }));
      slots[slot].append(field);
    }
    root.append(h('fieldset', { class: `hp-group hp-unit${title ? '' : ' hp-continued'}`, id: `group-${id}` },
      h('legend', { class: title ? '' : 'visually-hidden' }, title ?? name), items));
  }
}
