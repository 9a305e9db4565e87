// One matrix drawn as a grid of cells on the diverging colour scale (orange < 0 < blue, grey 0),
// each cell carrying its value (data-value: what the browser tests read), with a window outline
// that slides over it and a "current cell" mark. Optional: hover and mouse painting callbacks.
import { h } from '../dom.js';
import { diverging, cssRgb } from '../colors.js';
import { formatNumber } from './conv.js';

/** A grid in `root`. `onHover(r, c)` / `onLeave()`: the pointer over a cell / off the grid;
 *  `paintable(r, c)` and `onPaint(r, c, on)`: mouse drawing (a stroke that starts on a lit cell erases). */
export function createGrid(root, { id, label, onHover = null, onLeave = null, paintable = null, onPaint = null }) {
  const cells = h('div', { class: 'cnn-cells', id, role: 'img', 'aria-label': label });
  const frame = h('div', { class: 'cnn-window', 'aria-hidden': 'true', hidden: true });
  const wrap = h('div', { class: 'cnn-grid' }, cells, frame);
  root.append(wrap);
  let rows = 0;
  let cols = 0;
  let matrix = [];

  const cellAt = (x, y) => document.elementFromPoint(x, y)?.closest?.('.cnn-cell');
  const inThisGrid = (el) => el && cells.contains(el);
  if (onHover) {
    cells.addEventListener('pointerover', (e) => {
      const el = e.target.closest('.cnn-cell');
      if (inThisGrid(el)) onHover(Number(el.dataset.r), Number(el.dataset.c));
    });
    cells.addEventListener('pointerleave', () => onLeave?.());
  }
  if (onPaint) {
    let stroke = null; // the value this stroke paints (1 draws, 0 erases)
    const paintAt = (e) => {
      const el = cellAt(e.clientX, e.clientY);
      if (!inThisGrid(el)) return;
      const r = Number(el.dataset.r);
      const c = Number(el.dataset.c);
      if (!paintable(r, c)) return;
      if (stroke === null) stroke = matrix[r][c] > 0 ? 0 : 1;
      onPaint(r, c, stroke);
    };
    cells.addEventListener('pointerdown', (e) => {
      const el = e.target.closest('.cnn-cell');
      if (e.button !== 0 || !inThisGrid(el) || !paintable(Number(el.dataset.r), Number(el.dataset.c))) return;
      e.preventDefault();
      stroke = null;
      paintAt(e);
      const move = (ev) => { if (ev.buttons & 1) paintAt(ev); };
      const end = () => {
        stroke = null;
        window.removeEventListener('pointermove', move);
        window.removeEventListener('pointerup', end);
        onPaint(-1, -1, null); // the stroke is over (the hash is written once per stroke)
      };
      window.addEventListener('pointermove', move);
      window.addEventListener('pointerup', end);
    });
  }

  return {
    element: cells,
    /** Draw `m`; the outer `pad` rings are padding (drawn hatched); colours scaled by the
     *  largest |value| (or `scale`). */
    render(m, { pad = 0, scale = null } = {}) {
      matrix = m;
      rows = m.length;
      cols = m[0]?.length ?? 0;
      const top = scale ?? Math.max(1e-9, ...m.flat().map(Math.abs));
      cells.style.setProperty('--cols', cols);
      cells.dataset.rows = rows;
      cells.dataset.cols = cols;
      cells.dataset.values = JSON.stringify(m);
      const list = [];
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const v = m[r][c];
          const t = v / top;
          const isPad = r < pad || c < pad || r >= rows - pad || c >= cols - pad;
          const text = formatNumber(v);
          list.push(h('div', {
            class: `cnn-cell${isPad ? ' pad' : ''}${Math.abs(t) > 0.55 ? ' dark' : ''}`,
            style: `background:${cssRgb(diverging(t))}`, title: text,
            dataset: { r, c, value: v },
          }, text));
        }
      }
      cells.replaceChildren(...list);
      this.clear();
    },
    /** Cells of `cell` px with `font` px type: their numbers are shown when the longest one fits
     *  and the type is at least `minFont` px (else the colours alone; each cell's title has it). */
    fit(cell, font, minFont) {
      const longest = Math.max(1, ...matrix.flat().map((v) => formatNumber(v).length));
      cells.classList.toggle('numbers', font >= minFont && longest * font * 0.62 + 4 <= cell);
    },
    /** Outline the f×f window with top-left cell (r, c) (null: none). */
    outline(r, c, f) {
      frame.hidden = r === null;
      if (r === null) return;
      frame.style.setProperty('--r', r);
      frame.style.setProperty('--c', c);
      frame.style.setProperty('--f', f);
    },
    /** Mark cell (r, c) as the current one and fade the cells after it (not computed yet);
     *  null: every cell shown, none marked. */
    progress(r, c) {
      const at = r === null ? Infinity : r * cols + c;
      for (const el of cells.children) {
        const k = Number(el.dataset.r) * cols + Number(el.dataset.c);
        el.classList.toggle('current', k === at);
        el.classList.toggle('pending', k > at);
      }
    },
    clear() {
      this.outline(null);
      for (const el of cells.querySelectorAll('.current, .pending')) el.classList.remove('current', 'pending');
    },
  };
}
