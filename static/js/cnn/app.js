// The CNN lab page (/cnn), its first part: the convolution explorer. Everything is computed in the
// browser (conv.js); the state lives in the URL hash (state.js) and the page follows the hash live.
// Layout: settings column · the stage (input ∗ filter = output → pooled, the window sliding over
// them) with its arithmetic · the lesson and the parameter counts.
import { h, $ } from '../dom.js';
import { icon, showStatus, presenterToggle } from '../panels/controls.js';
import { convolve, pool, paddingOf, outputSize, sumOfProducts, poolExpression } from './conv.js';
import { Store, parseHash, serializeHash, filterOf, decodeDrawing, encodeDrawing, SPEEDS, POOLS } from './state.js';
import { loadDigits, imageOf } from './inputs.js';
import { createGrid } from './grid.js';
import { createAnimator } from './animator.js';
import { createSetup } from './setup.js';
import { createLessons } from './lessons.js';
import { createParams } from './params.js';
import { fitStage } from './layout.js';

const MAX_CELL_REM = 3.1; // the largest cell: a 6×6 input stays a compact picture
const READOUT_REM = 9;    // the sum of products and the formulas under the grids

export async function startCnn() {
  const digits = await loadDigits();
  const store = new Store(parseHash(location.hash));
  history.replaceState(null, '', `#${serializeHash(store.state)}`);

  // ------------------------------------------------------------ top bar
  const play = h('button', { class: 'btn-play', id: 'play', type: 'button', title: 'Play / pause the sliding window (space)', 'aria-label': 'Play', onclick: () => animator.toggle() }, icon('play'));
  const stepBtn = h('button', { class: 'btn-round', id: 'step', type: 'button', title: 'Next window position (→)', 'aria-label': 'Step', onclick: () => animator.step() }, icon('step'));
  const resetBtn = h('button', { class: 'btn-round', id: 'reset', type: 'button', title: 'Back to the first window position', 'aria-label': 'Reset', onclick: () => animator.reset() }, icon('reset'));
  const speed = h('select', { id: 'ctl-speed', onchange: (e) => store.update({ speed: Number(e.target.value) }) },
    SPEEDS.map((v) => h('option', { value: v }, `${v} / s`)));
  const counter = h('output', { class: 'counter-value', id: 'window-count', 'aria-labelledby': 'window-count-label' }, '–');
  const status = h('span', { class: 'status', id: 'status', role: 'status' });
  $('#transport').append(
    h('div', { class: 'transport', dataset: { hide: 'transport' } }, resetBtn, play, stepBtn,
      h('div', { class: 'field field-inline', dataset: { hide: 'speed' } }, h('label', { for: 'ctl-speed' }, 'Speed'), speed)),
    h('div', { class: 'counters' }, h('div', { class: 'counter' },
      h('span', { class: 'counter-label', id: 'window-count-label' }, 'Window'), counter), status),
  );
  const lessonMenuRoot = h('div', { class: 'cnn-lesson-root' });
  $('#transport').append(lessonMenuRoot);
  const presenter = presenterToggle(store);
  presenter.dataset.hide = 'presenter';
  $('.topbar-right').prepend(presenter);

  // ------------------------------------------------------------ hidden controls
  const hideStyle = h('style', { id: 'cnn-hidden' });
  document.head.append(hideStyle);
  const applyHidden = (s) => {
    hideStyle.textContent = s.hidden.map((k) => `[data-hide~="${k}"] { display: none !important; }`).join('\n');
  };

  // ------------------------------------------------------------ the stage
  const stage = $('#stage');
  const figure = (id, caption) => {
    const cap = h('figcaption', { class: 'cnn-figcaption', id: `${id}-caption` });
    const fig = h('figure', { class: 'cnn-figure', id: `${id}-figure` }, cap);
    cap.textContent = caption;
    return { fig, cap };
  };
  const op = (text, extra = '') => h('span', { class: `cnn-op ${extra}`, 'aria-hidden': 'true' }, text);
  const inFig = figure('in', 'Input');
  const filterFig = figure('filter', 'Filter');
  const outFig = figure('out', 'Output');
  const poolFig = figure('pool', 'Pooled');
  const poolOp = op('→', 'cnn-pool-op');
  // the break lets the output and the pooling start a second row (.two-rows) when cells are larger so
  stage.append(inFig.fig, op('∗'), filterFig.fig, h('span', { class: 'cnn-break', 'aria-hidden': 'true' }), op('='), outFig.fig, poolOp, poolFig.fig);

  let view = null; // what is drawn: {image, filter, conv, pooled, ...}
  let hovering = false;
  const isDrawn = () => store.state.input === 'drawn';
  const inGrid = createGrid(inFig.fig, {
    id: 'in-grid', label: 'Input image with its padding',
    paintable: (r, c) => isDrawn() && view && r >= view.conv.p && c >= view.conv.p && r < view.conv.padded.length - view.conv.p && c < view.conv.padded.length - view.conv.p,
    onPaint: (r, c, on) => paint(r, c, on),
  });
  const filterGrid = createGrid(filterFig.fig, { id: 'filter-grid', label: 'Filter' });
  const outGrid = createGrid(outFig.fig, {
    id: 'out-grid', label: 'Output of the convolution',
    onHover: (i, j) => { hovering = true; showConvCell(i, j); }, onLeave: () => { hovering = false; showPosition(animator.position()); },
  });
  const poolGrid = createGrid(poolFig.fig, {
    id: 'pool-grid', label: 'Output of the pooling',
    onHover: (i, j) => { hovering = true; showPoolCell(i, j); }, onLeave: () => { hovering = false; showPosition(animator.position()); },
  });

  // drawing: the pixels change at once; the hash is written when the stroke ends
  let strokeBits = null;
  function paint(r, c, on) {
    if (on === null) { // the stroke is over
      if (strokeBits) store.update({ drawing: encodeDrawing(strokeBits) });
      strokeBits = null;
      return;
    }
    strokeBits ??= decodeDrawing(store.state.drawing);
    const p = view.conv.p;
    if (strokeBits[r - p][c - p] === on) return;
    strokeBits[r - p][c - p] = on;
    render({ ...store.state, drawing: encodeDrawing(strokeBits) });
  }

  // ------------------------------------------------------------ readout, lesson, parameters
  const cellLabel = $('#cell-label');
  const sumText = $('#sum-text');
  const sizeFormula = $('#size-formula');
  const sameNote = $('#same-note');
  const poolFormula = $('#pool-formula');
  createLessons(lessonMenuRoot, $('#lesson-card'), store);
  const showParams = createParams($('#params'), store);
  createSetup($('#setup'), store, { digits });

  const animator = createAnimator((pos, playing) => {
    showStatus(play, status, playing ? 'running' : pos.stage ? 'paused' : 'done', { running: 'Sliding', paused: 'Paused', done: 'All computed' });
    counter.textContent = pos.stage ? `${pos.index + 1} / ${pos.total}` : `${pos.total} / ${pos.total}`;
    if (!hovering) showPosition(pos);
  });

  function render(s) {
    const image = imageOf(s, digits);
    const filter = filterOf(s);
    const f = filter.length;
    const conv = convolve(image, filter, { padding: s.padding, stride: s.stride });
    const pooling = s.pool !== 'none' && conv.size > 0;
    const pooled = pooling ? pool(conv.output, s.pool, s.pool_f, s.pool_s) : { size: 0, output: [] };
    view = { image, filter, conv, pooled, pooling };
    const n = image.length;
    const p = conv.p;

    inGrid.render(conv.padded, { pad: p, scale: Math.max(1, ...image.flat().map(Math.abs)) });
    inGrid.element.dataset.padding = p;
    inGrid.element.dataset.image = JSON.stringify(image);
    inGrid.element.classList.toggle('paintable', s.input === 'drawn');
    filterGrid.render(filter);
    inFig.cap.textContent = `Input ${n}×${n}${p ? ` + padding p = ${p} → ${n + 2 * p}×${n + 2 * p}` : ''}`;
    filterFig.cap.textContent = `Filter ${f}×${f}`;
    if (conv.size > 0) {
      outGrid.render(conv.output);
      outFig.cap.textContent = `Output ${conv.size}×${conv.size}`;
    }
    outFig.fig.hidden = conv.size < 1;
    poolOp.hidden = poolFig.fig.hidden = !pooling || pooled.size < 1;
    if (pooling && pooled.size > 0) {
      poolGrid.render(pooled.output);
      poolFig.cap.textContent = `${POOLS[s.pool]} ${s.pool_f}×${s.pool_f}, s = ${s.pool_s} → ${pooled.size}×${pooled.size}`;
    }

    // the arithmetic, with today's numbers
    const formula = '⌊(n + 2p − f)/s⌋ + 1';
    sizeFormula.replaceChildren(h('span', { class: 'cnn-readout-name' }, 'Output size'),
      ` ${formula} = ⌊(${n} + 2·${p} − ${f})/${s.stride}⌋ + 1 = `, h('strong', {}, String(Math.max(conv.size, 0))));
    sizeFormula.dataset.size = conv.size;
    sameNote.hidden = s.padding !== 'same';
    sameNote.textContent = `“Same” padding: p = (f − 1)/2 = (${f} − 1)/2 = ${paddingOf('same', f)}, so that with s = 1 the output keeps the input’s size: ⌊(n + 2p − f)/1⌋ + 1 = n.`;
    poolFormula.hidden = !pooling;
    if (pooling) {
      const fits = pooled.size > 0;
      poolFormula.replaceChildren(h('span', { class: 'cnn-readout-name' }, 'Pooled size'),
        ` ⌊(${conv.size} − ${s.pool_f})/${s.pool_s}⌋ + 1 = `, h('strong', {}, String(Math.max(outputSize(conv.size, s.pool_f, 0, s.pool_s), 0))),
        fits ? '' : ` — the ${s.pool_f}×${s.pool_f} window does not fit the ${conv.size}×${conv.size} map: no pooling.`);
      poolFormula.dataset.size = pooled.size;
    }
    showParams({ n, f, outSize: conv.size, pool: pooling && pooled.size > 0 });
    fitCells();
    animator.setStages([{ name: 'conv', size: conv.size }, { name: 'pool', size: pooling ? pooled.size : 0 }]);
  }

  function showConvCell(i, j) {
    const { conv, filter } = view;
    inGrid.outline(i * conv.s, j * conv.s, conv.f);
    outGrid.outline(null);
    outGrid.progress(i, j);
    poolGrid.progress(-1, 0);
    cellLabel.textContent = `Output cell (${i + 1}, ${j + 1}): the window at rows ${i * conv.s + 1}–${i * conv.s + conv.f}, columns ${j * conv.s + 1}–${j * conv.s + conv.f} of the padded input`;
    sumText.textContent = sumOfProducts(conv, filter, i, j);
    sumText.classList.remove('hint');
    sumText.dataset.cell = `${i},${j}`;
  }

  function showPoolCell(i, j) {
    const s = store.state;
    const { conv, pooled } = view;
    inGrid.outline(null);
    outGrid.progress(null);
    outGrid.outline(i * s.pool_s, j * s.pool_s, s.pool_f);
    poolGrid.progress(i, j);
    cellLabel.textContent = `Pooled cell (${i + 1}, ${j + 1}): the ${s.pool_f}×${s.pool_f} window at rows ${i * s.pool_s + 1}–${i * s.pool_s + s.pool_f}, columns ${j * s.pool_s + 1}–${j * s.pool_s + s.pool_f} of the output`;
    sumText.classList.remove('hint');
    sumText.textContent = poolExpression(conv.output, s.pool, s.pool_f, s.pool_s, i, j, pooled.output[i][j]);
    sumText.dataset.cell = `pool ${i},${j}`;
  }

  function showPosition(pos) {
    if (!view) return;
    if (pos.stage === 'conv') showConvCell(pos.i, pos.j);
    else if (pos.stage === 'pool') showPoolCell(pos.i, pos.j);
    else {
      for (const g of [inGrid, outGrid, poolGrid]) { g.outline(null); g.progress(null); }
      cellLabel.textContent = 'Every cell computed';
      sumText.textContent = 'Hover an output cell to see its sum of products, or press play to watch the window slide.';
      sumText.dataset.cell = '';
      sumText.classList.add('hint');
    }
  }

  // cells as large as the stage allows (layout.js), up to MAX_CELL_REM, leaving room in the window
  // for the readout below the grids (READOUT_REM)
  function fitCells() {
    if (!view) return;
    const rem = parseFloat(getComputedStyle(document.documentElement).fontSize);
    const figures = [view.conv.padded, view.filter, view.conv.output, view.pooled.output]
      .filter((m, k) => m.length > 0 && (k < 3 || view.pooling)).map((m) => ({ cols: m.length, rows: m.length }));
    const top = stage.getBoundingClientRect().top + window.scrollY;
    const height = Math.max(16 * rem, window.innerHeight - top - READOUT_REM * rem);
    const { cell, wrap } = fitStage({ figures, width: stage.clientWidth, height, rem, maxCell: Math.round(MAX_CELL_REM * rem) });
    const font = Math.min(0.95 * rem, cell * 0.36);
    stage.style.setProperty('--cell', `${cell}px`);
    stage.style.setProperty('--cell-font', `${font}px`);
    stage.classList.toggle('two-rows', wrap);
    for (const g of [inGrid, filterGrid, outGrid, poolGrid]) g.fit(cell, font, Math.max(10, 0.55 * rem));
  }
  new ResizeObserver(fitCells).observe(stage);
  window.addEventListener('resize', fitCells);

  // ------------------------------------------------------------ store, hash, keys
  store.subscribe((changed, s) => {
    if (changed.includes('hidden')) applyHidden(s);
    if (changed.includes('speed')) { speed.value = String(s.speed); animator.setSpeed(s.speed); }
    if (changed.includes('presenter')) requestAnimationFrame(fitCells);
    if (changed.some((k) => !['hidden', 'speed', 'presenter', 'lesson', 'nc', 'filters'].includes(k))) render(s);
    else if (changed.includes('nc') || changed.includes('filters')) showParams({ n: view.image.length, f: view.filter.length, outSize: view.conv.size, pool: view.pooling && view.pooled.size > 0 });
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
  document.body.dataset.ready = 'true'; // for the browser tests
  return { store, animator };
}
