// The Live ConvNet's architectures and the config sent to /ws/cnn (docs/cnn.md "Live ConvNet").
// DOM-free. tests/server/test_cnn_lessons.py trains the same layer lists (its ARCHITECTURES must
// stay equal to these: tests/e2e/test_cnn_train.py compares them).

const conv = (filters, size = 3, padding = 'same', extra = {}) => ({ type: 'conv', filters, size, stride: 1, padding, activation: 'relu', ...extra });
const pool = (mode = 'max') => ({ type: 'pool', mode, size: 2, stride: 2 });
const flatten = { type: 'flatten' };
const dense = (units) => ({ type: 'dense', units, activation: 'relu' });
const residual = { type: 'residual', size: 3, activation: 'relu' };

export const ARCHITECTURES = {
  convnet: { label: 'ConvNet (conv 8 · pool · dense 32)', layers: [conv(8), pool(), flatten, dense(32)] },
  lenet: { label: 'LeNet-like (conv 6 · avg pool · conv 16 · avg pool · 120 · 84)',
    layers: [conv(6), pool('average'), conv(16, 3, 'valid'), pool('average'), flatten, dense(120), dense(84)] },
  onebyone: { label: '1×1 conv (conv 16 · 1×1 conv 4 · pool · dense 32)', layers: [conv(16), conv(4, 1, 'valid'), pool(), flatten, dense(32)] },
  // a frame of a 13-conv net costs ~0.5 s of the worker (the engine's snapshot of every set,
  // the dev predictions): one a second leaves it time to train
  plain: { label: 'Plain deep (13 convs · pool)', fps: 1, layers: [conv(8), ...Array.from({ length: 12 }, () => conv(8)), pool(), flatten] },
  residual: { label: 'Residual (conv + 6 residual blocks: 13 convs · pool)', fps: 1, layers: [conv(8), ...Array.from({ length: 6 }, () => residual), pool(), flatten] },
  dense: { label: 'Dense only (64 · 32 on the pixels)', hidden: [64, 32] },
};

export const DATASETS = { digits: 'Digits (8×8, 10 classes)', shapes: 'Shapes (16×16, 6 classes)' };
export const OPTIMIZERS = { gd: 'Gradient descent', momentum: 'Momentum', rmsprop: 'RMSprop', adam: 'Adam' };
export const BATCH_SIZES = [16, 32, 64, 128, 256];
export const INITS = { he: 'He', xavier: 'Xavier' };

/** The TrainConfig of the panel's settings (state.js keys). */
export function trainConfig(s) {
  const arch = ARCHITECTURES[s.net] || ARCHITECTURES.convnet;
  const data = s.dataset === 'shapes'
    ? { name: 'shapes', n: 1200, size: 16, noise: 0.15, classes: 6, seed: 0, split: [0.7, 0.15, 0.15] }
    : { name: 'digits', seed: 0, split: [0.7, 0.15, 0.15] };
  const network = arch.hidden
    ? { hidden: arch.hidden, activation: 'relu', output: 'softmax', init: s.init, batch_norm: s.batch_norm }
    : { layers: arch.layers, output: 'softmax', init: s.init, batch_norm: s.batch_norm };
  return {
    data, network,
    regularization: { l2: s.l2, keep_prob: s.keep_prob },
    optimizer: { name: s.optimizer, learning_rate: s.alpha },
    batch_size: s.batch_size, epochs: 200, seed: s.seed,
  };
}

/** The session's speed: train continuously, frames at the architecture's rate (`speed`). */
export const speedOf = (s) => ({ type: 'speed', steps_per_frame: 'max', fps: (ARCHITECTURES[s.net] || ARCHITECTURES.convnet).fps ?? 8 });

/** The settings that need a new session when they change (the others are live `set`s). */
export const RESTART_KEYS = ['net', 'dataset', 'optimizer', 'batch_size', 'batch_norm', 'init', 'seed'];
export const LIVE_KEYS = { alpha: 'learning_rate', l2: 'l2', keep_prob: 'keep_prob' };
