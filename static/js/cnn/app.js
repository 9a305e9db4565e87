// The CNN lab page (/cnn), its first part: the convolution explorer. Everything is computed in the
// browser (conv.js, view.js); the state lives in the URL hash (state.js) and the page follows the
// hash live. Layout: settings column · the stage (stage.js) and its arithmetic (readout.js) · the
// lesson and the parameter counts. The top bar drives the sliding window (animator.js).
import { h, $ } from '../dom.js';
import { icon, showStatus, presenterToggle } from '../panels/topbar.js';
import { Store, parseHash, serializeHash, decodeDrawing, encodeDrawing, SPEEDS, TRAIN_KEYS } from './state.js';
import { loadDigits } from './inputs.js';
import { computeView } from './view.js';
import { createStage } from './stage.js';
import { createReadout } from './readout.js';
import { createAnimator } from './animator.js';
import { createSetup } from './setup.js';
import { createLessons } from './lessons.js';
import { createParams } from './params.js';
import { createTrainPanel } from './train/panel.js';

const STATUS_TEXT = { running: 'Sliding', paused: 'Paused', done: 'All computed' };

export async function startCnn() {
  const digits = await loadDigits();
  const store = new Store(parseHash(location.hash));
  history.replaceState(null, '', `#${serializeHash(store.state)}`);
  let view = null;      // what is drawn (view.js)
  let hovering = false; // a hovered cell is shown instead of the animation's

  // ------------------------------------------------------------ top bar
  const play = h('button', { class: 'btn-play', id: 'play', type: 'button', title: 'Play / pause the sliding window (space)', 'aria-label': 'Play', onclick: () => animator.toggle() }, icon('play'));
  const stepBtn = h('button', { class: 'btn-round', id: 'step', type: 'button', title: 'Next window position (→)', 'aria-label': 'Step', onclick: () => animator.step() }, icon('step'));
  const resetBtn = h('button', { class: 'btn-round', id: 'reset', type: 'button', title: 'Back to the first window position', 'aria-label': 'Reset', onclick: () => animator.reset() }, icon('reset'));
  const speed = h('select', { id: 'ctl-speed', onchange: (e) => store.update({ speed: Number(e.target.value) }) },
    SPEEDS.map((v) => h('option', { value: v }, `${v} / s`)));
  const counter = h('output', { class: 'counter-value', id: 'window-count', 'aria-labelledby': 'window-count-label' }, '–');
  const status = h('span', { class: 'status', id: 'status', role: 'status' });
  const lessonMenuRoot = h('div', { class: 'cnn-lesson-root' });
  $('#transport').append(
    h('div', { class: 'transport', dataset: { hide: 'transport' } }, resetBtn, play, stepBtn,
      h('div', { class: 'field field-inline', dataset: { hide: 'speed' } }, h('label', { for: 'ctl-speed' }, 'Speed'), speed)),
    h('div', { class: 'counters' }, h('div', { class: 'counter' },
      h('span', { class: 'counter-label', id: 'window-count-label' }, 'Window'), counter), status),
    lessonMenuRoot,
  );
  const presenter = presenterToggle(store);
  presenter.dataset.hide = 'presenter';
  $('.topbar-right').prepend(presenter);

  // ------------------------------------------------------------ hidden controls (`<key>_hide=true`)
  const hideStyle = h('style', { id: 'cnn-hidden' });
  document.head.append(hideStyle);
  const applyHidden = (s) => {
    hideStyle.textContent = s.hidden.map((k) => `[data-hide~="${k}"] { display: none !important; }`).join('\n');
  };

  // ------------------------------------------------------------ stage and readout
  // drawing: the pixels follow the pointer at once; the hash is written when the stroke ends
  let strokeBits = null;
  const paint = {
    can: (r, c) => {
      if (store.state.input !== 'drawn' || !view) return false;
      const { p, padded } = view.conv;
      return r >= p && c >= p && r < padded.length - p && c < padded.length - p;
    },
    at: (r, c, on) => {
      if (on === null) { // the stroke is over
        if (strokeBits) store.update({ drawing: encodeDrawing(strokeBits) });
        strokeBits = null;
        return;
      }
      strokeBits ??= decodeDrawing(store.state.drawing);
      const { p } = view.conv;
      if (strokeBits[r - p][c - p] === on) return;
      strokeBits[r - p][c - p] = on;
      render({ ...store.state, drawing: encodeDrawing(strokeBits) });
    },
  };
  const hover = {
    conv: (i, j) => { hovering = true; showCell('conv', i, j); },
    pool: (i, j) => { hovering = true; showCell('pool', i, j); },
    leave: () => { hovering = false; const pos = animator.position(); showCell(pos.stage, pos.i, pos.j); },
  };
  const stage = createStage($('#stage'), { hover, paint });
  const readout = createReadout({ cellLabel: $('#cell-label'), sumText: $('#sum-text'), sizeFormula: $('#size-formula'),
    sameNote: $('#same-note'), poolFormula: $('#pool-formula') });
  createLessons(lessonMenuRoot, $('#lesson-card'), store);
  const showParams = createParams($('#params'), store);
  createSetup($('#setup'), store, { digits });
  const params = () => showParams({ n: view.image.length, f: view.filter.length, outSize: view.conv.size, pool: view.pooling });

  const animator = createAnimator((pos, playing) => {
    showStatus(play, status, playing ? 'running' : pos.stage ? 'paused' : 'done', STATUS_TEXT);
    counter.textContent = `${pos.stage ? pos.index + 1 : pos.total} / ${pos.total}`;
    if (!hovering) showCell(pos.stage, pos.i, pos.j);
  });

  /** Output cell (i, j) of `stage` ('conv' or 'pool') on the grids and in the readout; null: none. */
  function showCell(which, i, j) {
    if (!view) return;
    if (which === 'conv' || which === 'pool') {
      stage[`${which}Cell`](i, j);
      readout[`${which}Cell`](view, i, j);
    } else {
      stage.none();
      readout.none();
    }
  }

  function render(s) {
    view = computeView(s, digits);
    stage.draw(view, { paintable: s.input === 'drawn' });
    readout.formulas(view, s.padding);
    params();
    animator.setStages([{ name: 'conv', size: view.conv.size }, { name: 'pool', size: view.pooled.size }]);
  }

  // ------------------------------------------------------------ store, hash, keys
  store.subscribe((changed, s) => {
    if (changed.includes('hidden')) applyHidden(s);
    if (changed.includes('speed')) { speed.value = String(s.speed); animator.setSpeed(s.speed); }
    if (changed.includes('presenter')) requestAnimationFrame(stage.fit);
    const shown = changed.filter((k) => !['hidden', 'speed', 'presenter', 'lesson', ...TRAIN_KEYS].includes(k));
    if (shown.some((k) => k !== 'nc' && k !== 'filters')) render(s);
    else if (shown.length) params();
  });
  window.addEventListener('hashchange', () => {
    const followed = location.hash;
    if (followed !== `#${serializeHash(store.state)}`) store.update(parseHash(followed));
    document.body.dataset.followed = followed; // for the browser tests: this hash is shown
  });
  // space = play/pause (not on a focused button or link, which space presses), → = one position
  document.addEventListener('keydown', (event) => {
    const t = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (t.closest?.('input, select, textarea, [contenteditable]')) return;
    if (event.key === ' ' && !t.closest?.('button, a, summary')) { event.preventDefault(); animator.toggle(); }
    else if (event.key === 'ArrowRight') { event.preventDefault(); animator.step(); }
  });

  speed.value = String(store.state.speed);
  animator.setSpeed(store.state.speed);
  applyHidden(store.state);
  render(store.state);
  // the Live ConvNet (train/panel.js): its own socket (/ws/cnn) and controls, the same hash
  const train = createTrainPanel($('#cnn-train'), $('#cnn-train-root'), store);
  document.body.dataset.ready = 'true'; // for the browser tests
  return { store, animator, train };
}
