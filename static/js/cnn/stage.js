// The stage: input ∗ filter = output → pooled, each a grid (grid.js) under a caption; the sliding
// window shown on them; cells sized to fit (layout.js), in one row or two.
import { h } from '../dom.js';
import { createGrid } from './grid.js';
import { fitStage } from './layout.js';
import { POOLS } from './state.js';

const MAX_CELL_REM = 3.1; // the largest cell: a 6×6 input stays a compact picture
const READOUT_REM = 9;    // room kept in the window under the grids for the readout

/** `hover`: {conv(i, j), pool(i, j), leave()}; `paint`: {can(r, c), at(r, c, on)} (grid.js). */
export function createStage(root, { hover, paint }) {
  const figure = (id) => {
    const cap = h('figcaption', { class: 'cnn-figcaption', id: `${id}-caption` });
    return { fig: h('figure', { class: 'cnn-figure', id: `${id}-figure` }, cap), cap };
  };
  const op = (text) => h('span', { class: 'cnn-op', 'aria-hidden': 'true' }, text);
  const inFig = figure('in');
  const filterFig = figure('filter');
  const outFig = figure('out');
  const poolFig = figure('pool');
  const poolOp = op('→');
  // the break lets the output and the pooling start a second row (.two-rows) when cells are larger so
  root.append(inFig.fig, op('∗'), filterFig.fig, h('span', { class: 'cnn-break', 'aria-hidden': 'true' }), op('='), outFig.fig, poolOp, poolFig.fig);

  const inGrid = createGrid(inFig.fig, { id: 'in-grid', label: 'Input image with its padding', paintable: paint.can, onPaint: paint.at });
  const filterGrid = createGrid(filterFig.fig, { id: 'filter-grid', label: 'Filter' });
  const outGrid = createGrid(outFig.fig, { id: 'out-grid', label: 'Output of the convolution', onHover: hover.conv, onLeave: hover.leave });
  const poolGrid = createGrid(poolFig.fig, { id: 'pool-grid', label: 'Output of the pooling', onHover: hover.pool, onLeave: hover.leave });
  let view = null;

  function fit() {
    if (!view) return;
    const rem = parseFloat(getComputedStyle(document.documentElement).fontSize);
    const shown = [view.conv.padded, view.filter, ...(view.conv.size > 0 ? [view.conv.output] : []), ...(view.pooling ? [view.pooled.output] : [])];
    const top = root.getBoundingClientRect().top + window.scrollY;
    const { cell, wrap } = fitStage({
      figures: shown.map((m) => ({ cols: m.length, rows: m.length })), width: root.clientWidth,
      height: Math.max(16 * rem, window.innerHeight - top - READOUT_REM * rem), rem, maxCell: Math.round(MAX_CELL_REM * rem),
    });
    const font = Math.min(0.95 * rem, cell * 0.36);
    root.style.setProperty('--cell', `${cell}px`);
    root.style.setProperty('--cell-font', `${font}px`);
    root.classList.toggle('two-rows', wrap);
    for (const g of [inGrid, filterGrid, outGrid, poolGrid]) g.fit(cell, font, Math.max(10, 0.55 * rem));
  }
  new ResizeObserver(fit).observe(root);
  window.addEventListener('resize', fit);

  return {
    fit,
    /** Draw view `v` (view.js); `paintable`: the input takes the mouse's drawing. */
    draw(v, { paintable }) {
      view = v;
      const n = v.image.length;
      const { p, f, size } = v.conv;
      inGrid.render(v.conv.padded, { pad: p, scale: Math.max(1, ...v.image.flat().map(Math.abs)) });
      inGrid.element.dataset.padding = p;
      inGrid.element.dataset.image = JSON.stringify(v.image);
      inGrid.element.classList.toggle('paintable', paintable);
      inFig.cap.textContent = `Input ${n}×${n}${p ? ` + padding p = ${p} → ${n + 2 * p}×${n + 2 * p}` : ''}`;
      filterGrid.render(v.filter);
      filterFig.cap.textContent = `Filter ${f}×${f}`;
      outFig.fig.hidden = size < 1;
      if (size > 0) {
        outGrid.render(v.conv.output);
        outFig.cap.textContent = `Output ${size}×${size}`;
      }
      poolOp.hidden = poolFig.fig.hidden = !v.pooling;
      if (v.pooling) {
        const { mode, f: pf, s: ps } = v.pool;
        poolGrid.render(v.pooled.output);
        poolFig.cap.textContent = `${POOLS[mode]} ${pf}×${pf}, s = ${ps} → ${v.pooled.size}×${v.pooled.size}`;
      }
      fit();
    },
    /** The convolution's window for output cell (i, j): outlined on the input, the cell marked. */
    convCell(i, j) {
      const { s, f } = view.conv;
      inGrid.outline(i * s, j * s, f);
      outGrid.outline(null);
      outGrid.progress(i, j);
      poolGrid.progress(-1, 0); // nothing pooled yet
    },
    /** The pooling's window for pooled cell (i, j): outlined on the convolution's output. */
    poolCell(i, j) {
      const { f, s } = view.pool;
      inGrid.outline(null);
      outGrid.progress(null);
      outGrid.outline(i * s, j * s, f);
      poolGrid.progress(i, j);
    },
    /** No window: every cell shown. */
    none() {
      for (const g of [inGrid, outGrid, poolGrid]) { g.outline(null); g.progress(null); }
    },
  };
}
