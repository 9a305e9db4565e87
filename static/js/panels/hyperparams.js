// The hyperparameter row under the top bar: optimization, network, regularization and input
// controls, grouped; controls that do not apply to the current choice are hidden.
import { h } from '../dom.js';
import { control } from '../widgets.js';

const uses = (state, ...optimizers) => optimizers.includes(state.optimizer);

// key -> when it applies (absent = always)
const RELEVANT = {
  beta: (s) => uses(s, 'momentum'),
  beta1: (s) => uses(s, 'adam'),
  beta2: (s) => uses(s, 'rmsprop', 'adam'),
  epsilon: (s) => uses(s, 'rmsprop', 'adam'),
  bias_correction: (s) => uses(s, 'adam'),
  decay_rate: (s) => s.schedule === 'inverse_time',
  decay_interval: (s) => s.schedule === 'inverse_time',
  decay_base: (s) => s.schedule === 'exponential',
  decay_k: (s) => s.schedule === 'inverse_sqrt',
  init_scale: (s) => s.init === 'random',
  patience: (s) => s.early_stopping,
};

// Two rows at 1280 px: optimization first, then network and regularization (early stopping is
// one, as in the course). The output layer and input normalization sit in the network view, next
// to what they change.
const GROUPS = [
  ['Optimization', ['optimizer', 'learning_rate', 'beta', 'beta1', 'beta2', 'epsilon', 'bias_correction',
    'schedule', 'decay_rate', 'decay_interval', 'decay_base', 'decay_k', 'batch_size', 'epochs']],
  ['Network', ['activation', 'init', 'init_scale', 'batch_norm']],
  ['Regularization', ['l2', 'l1', 'keep_prob', 'early_stopping', 'patience']],
];

export function createHyperparams(root, store) {
  for (const [title, keys] of GROUPS) {
    const id = `group-${title.toLowerCase()}`;
    root.append(h('fieldset', { class: 'hp-group', id },
      h('legend', {}, title),
      keys.map((key) => control(store, key, { relevant: RELEVANT[key] }))));
  }
}
