// The convolution explorer's state: every setting lives in the URL hash, so a copied URL (or a
// lesson) reproduces the explorer; `<key>_hide=true` hides that key's control (classroom use).
//
// Hash: input=edge&digit=3&drawing=<64 hex>&filter=vertical&custom=1,0,-1,…&padding=valid
//       &stride=1&pool=none&pool_f=2&pool_s=2&nc=1&filters=1&speed=2[&lesson=edges][&presenter=1]
//       [&filter_hide=true …]   (docs/cnn.md lists the keys)
//       and the Live ConvNet's: net=convnet&dataset=digits&optimizer=adam&alpha=0.003&l2=0
//       &keep_prob=1&batch_norm=0&batch_size=32&init=he&seed=1&example=0
import { FILTERS, FILTER_SIZES } from './conv.js';
import { ARCHITECTURES, DATASETS, OPTIMIZERS, BATCH_SIZES, INITS } from './train/presets.js';

export const INPUTS = { edge: '6×6 edge (course)', digit: 'Handwritten digit', drawn: 'Draw your own' };
export const FILTER_LABELS = {
  vertical: 'Vertical edge', horizontal: 'Horizontal edge', sobel_v: 'Sobel, vertical', sobel_h: 'Sobel, horizontal',
  scharr_v: 'Scharr, vertical', scharr_h: 'Scharr, horizontal', custom: 'Custom numbers',
};
export const POOLS = { none: 'None', max: 'Max pooling', avg: 'Average pooling' };
export const SPEEDS = [1, 2, 4, 8, 16, 32]; // window positions per second (a 16×16 output has 256)
export const DRAW_SIZE = 16;        // the drawn image is DRAW_SIZE × DRAW_SIZE
export const DRAW_VALUE = 10;       // a drawn pixel's value (the course example's bright value)
export const MAX_PADDING = 4;
export const MAX_STRIDE = 4;
export const MAX_POOL = 4;
export const MAX_CHANNELS = 1024;

// A square outline: four edges, so that every filter finds something in the default drawing.
const DEFAULT_DRAWING = Array.from({ length: DRAW_SIZE }, (_, r) => Array.from({ length: DRAW_SIZE },
  (__, c) => ((r === 4 || r === 11) && c >= 4 && c <= 11) || ((c === 4 || c === 11) && r >= 4 && r <= 11) ? 1 : 0));

/** A 0/1 drawing as hex, four digits a row (16 pixels), and back (undefined when malformed). */
export const encodeDrawing = (bits) => bits.map((row) => parseInt(row.join(''), 2).toString(16).padStart(DRAW_SIZE / 4, '0')).join('');
export function decodeDrawing(text) {
  const width = DRAW_SIZE / 4;
  if (!new RegExp(`^[0-9a-f]{${width * DRAW_SIZE}}$`).test(text)) return undefined;
  return Array.from({ length: DRAW_SIZE }, (_, r) => parseInt(text.slice(r * width, (r + 1) * width), 16)
    .toString(2).padStart(DRAW_SIZE, '0').split('').map(Number));
}

const int = (lo, hi) => (raw) => {
  const x = Number(raw);
  return raw !== '' && Number.isInteger(x) && x >= lo && x <= hi ? x : undefined;
};
const oneOf = (values) => (raw) => (values.includes(raw) ? raw : undefined);
const num = (lo, hi) => (raw) => {
  const x = Number(raw);
  return raw !== '' && Number.isFinite(x) && x >= lo && x <= hi ? x : undefined;
};
const bool = (raw) => (raw === '1' || raw === 'true' ? true : raw === '0' || raw === 'false' ? false : undefined);

// key -> [default, parser of a hash value (undefined = invalid: the default stays), serializer]
const FIELDS = {
  input: ['edge', oneOf(Object.keys(INPUTS))],
  digit: [3, int(0, 9)],
  drawing: [encodeDrawing(DEFAULT_DRAWING), (raw) => (decodeDrawing(raw) ? raw : undefined)],
  filter: ['vertical', oneOf(Object.keys(FILTER_LABELS))],
  custom: [FILTERS.vertical.flat(), (raw) => {
    const xs = String(raw).split(',').map((s) => Number(s.replace('−', '-')));
    const ok = xs.every((x) => Number.isFinite(x) && Math.abs(x) <= 1000) && FILTER_SIZES.includes(Math.sqrt(xs.length));
    return ok ? xs : undefined;
  }, (xs) => xs.join(',')],
  padding: ['valid', (raw) => (raw === 'valid' || raw === 'same' ? raw : int(0, MAX_PADDING)(raw) === 0 ? 'valid' : int(0, MAX_PADDING)(raw))],
  stride: [1, int(1, MAX_STRIDE)],
  pool: ['none', oneOf(Object.keys(POOLS))],
  pool_f: [2, int(1, MAX_POOL)],
  pool_s: [2, int(1, MAX_POOL)],
  nc: [1, int(1, MAX_CHANNELS)],
  filters: [1, int(1, MAX_CHANNELS)],
  speed: [2, (raw) => SPEEDS.find((v) => v === Number(raw))],
  lesson: ['', (raw) => (/^[a-z_]{0,30}$/.test(raw) ? raw : undefined)],
  presenter: [false, bool, (v) => (v ? '1' : '0')],
  // the Live ConvNet (train/panel.js): architecture, data, optimizer, α, L2 λ, keep_prob, batch
  // norm, batch size, initialization, seed, and the dev example whose feature maps are shown
  net: ['convnet', oneOf(Object.keys(ARCHITECTURES))],
  dataset: ['digits', oneOf(Object.keys(DATASETS))],
  optimizer: ['adam', oneOf(Object.keys(OPTIMIZERS))],
  alpha: [0.003, num(1e-5, 10)],
  l2: [0, num(0, 100)],
  keep_prob: [1, num(0.05, 1)],
  batch_norm: [false, bool, (v) => (v ? '1' : '0')],
  batch_size: [32, (raw) => BATCH_SIZES.find((v) => v === Number(raw))],
  init: ['he', oneOf(Object.keys(INITS))],
  seed: [1, int(0, 999)],
  example: [0, int(0, 100000)],
};
export const KEYS = Object.keys(FIELDS);
// the Live ConvNet's keys (train/panel.js follows them; the explorer does not redraw for them)
export const TRAIN_KEYS = ['net', 'dataset', 'optimizer', 'alpha', 'l2', 'keep_prob', 'batch_norm', 'batch_size', 'init', 'seed', 'example'];
// Controls a link can hide besides the keys: the transport, the lessons menu, the parameter card.
export const HIDEABLE = [...KEYS.filter((k) => k !== 'lesson'), 'transport', 'lessons', 'params', 'train', 'train_transport', 'train_params'];

export function defaults() {
  const s = Object.fromEntries(KEYS.map((k) => [k, structuredClone(FIELDS[k][0])]));
  return { ...s, hidden: [] };
}

/** The state of a location hash: unknown keys are skipped, invalid values keep the default. */
export function parseHash(hash) {
  const state = defaults();
  const hidden = new Set();
  for (const [key, raw] of new URLSearchParams(String(hash || '').replace(/^#/, ''))) {
    if (key.endsWith('_hide')) {
      if (raw === 'true' && HIDEABLE.includes(key.slice(0, -5))) hidden.add(key.slice(0, -5));
    } else if (FIELDS[key]) {
      const value = FIELDS[key][1](raw);
      if (value !== undefined) state[key] = value;
    }
  }
  state.hidden = [...hidden].sort();
  return state;
}

/** Every key (a copied URL must not depend on today's defaults), then the hidden controls. */
export function serializeHash(s) {
  const parts = KEYS.map((k) => `${k}=${encodeURIComponent((FIELDS[k][2] ?? String)(s[k])).replace(/%2C/g, ',')}`);
  return [...parts, ...s.hidden.map((k) => `${k}_hide=true`)].join('&');
}

/** The filter matrix the state selects (a custom one is f×f with f² numbers). */
export function filterOf(s) {
  if (s.filter !== 'custom') return FILTERS[s.filter];
  const f = Math.sqrt(s.custom.length);
  return Array.from({ length: f }, (_, r) => s.custom.slice(r * f, (r + 1) * f));
}

/** Holds the state, keeps the hash in step, tells subscribers which keys changed. */
export class Store {
  constructor(state) {
    this.state = state;
    this.listeners = [];
  }

  subscribe(fn) { this.listeners.push(fn); }

  get(key) { return this.state[key]; }

  update(patch) {
    const changed = Object.keys(patch).filter((k) => JSON.stringify(patch[k]) !== JSON.stringify(this.state[k]));
    if (!changed.length) return;
    this.state = { ...this.state, ...patch };
    const hash = `#${serializeHash(this.state)}`;
    if (location.hash !== hash) history.replaceState(null, '', hash);
    for (const fn of this.listeners) fn(changed, this.state);
  }
}
