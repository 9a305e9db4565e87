// The arithmetic under the stage, with the current numbers: the cell shown (its window and its sum
// of products, or a pooled cell's max/avg written out), the output-size formula, why "same" pads
// (f − 1)/2, and the pooled size.
import { h } from '../dom.js';
import { paddingOf, outputSize, sumOfProducts, poolExpression } from './conv.js';

const rows = (start, f) => `${start + 1}–${start + f}`;

export function createReadout(els) {
  const { cellLabel, sumText, sizeFormula, sameNote, poolFormula } = els;
  const show = (label, text, cell) => {
    cellLabel.textContent = label;
    sumText.textContent = text;
    sumText.dataset.cell = cell;
    sumText.classList.toggle('hint', cell === '');
  };

  return {
    /** The formulas of view `v` for padding setting `padding`. */
    formulas(v, padding) {
      const n = v.image.length;
      const f = v.filter.length;
      const { p, s, size } = v.conv;
      sizeFormula.replaceChildren(h('span', { class: 'cnn-readout-name' }, 'Output size'),
        ` ⌊(n + 2p − f)/s⌋ + 1 = ⌊(${n} + 2·${p} − ${f})/${s}⌋ + 1 = `, h('strong', {}, String(Math.max(size, 0))));
      sizeFormula.dataset.size = size;
      sameNote.hidden = padding !== 'same';
      sameNote.textContent = `“Same” padding: p = (f − 1)/2 = (${f} − 1)/2 = ${paddingOf('same', f)}, so that with s = 1 the output keeps the input’s size: ⌊(n + 2p − f)/1⌋ + 1 = n.`;
      poolFormula.hidden = !v.wantsPool;
      if (!v.wantsPool) return;
      const { f: pf, s: ps } = v.pool;
      poolFormula.replaceChildren(h('span', { class: 'cnn-readout-name' }, 'Pooled size'),
        ` ⌊(${size} − ${pf})/${ps}⌋ + 1 = `, h('strong', {}, String(Math.max(outputSize(size, pf, 0, ps), 0))),
        v.pooling ? '' : ` — the ${pf}×${pf} window does not fit the ${size}×${size} map: no pooling.`);
      poolFormula.dataset.size = v.pooled.size;
    },
    convCell(v, i, j) {
      const { s, f } = v.conv;
      show(`Output cell (${i + 1}, ${j + 1}): the window at rows ${rows(i * s, f)}, columns ${rows(j * s, f)} of the padded input`,
        sumOfProducts(v.conv, v.filter, i, j), `${i},${j}`);
    },
    poolCell(v, i, j) {
      const { mode, f, s } = v.pool;
      show(`Pooled cell (${i + 1}, ${j + 1}): the ${f}×${f} window at rows ${rows(i * s, f)}, columns ${rows(j * s, f)} of the output`,
        poolExpression(v.conv.output, mode, f, s, i, j, v.pooled.output[i][j]), `pool ${i},${j}`);
    },
    none() {
      show('Every cell computed', 'Hover an output cell to see its sum of products, or press play to watch the window slide.', '');
    },
  };
}
