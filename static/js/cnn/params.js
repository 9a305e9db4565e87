// The parameter count of the layer the explorer shows: a conv layer of n_C' filters f×f on n_C
// channels against a dense layer joining the same input and output volumes (the course's "why
// convolutions": parameter sharing and sparse connections), and pooling's none.
import { h, fmtInt } from '../dom.js';
import { parameterCounts } from './conv.js';
import { MAX_CHANNELS } from './state.js';

const nC = (prime = '') => h('span', { class: 'cnn-sym' }, 'n', h('sub', {}, 'C'), prime);

export function createParams(root, store) {
  const number = (key, label, title) => {
    const input = h('input', { type: 'number', id: `ctl-${key}`, min: 1, max: MAX_CHANNELS, step: 1, value: store.state[key], title,
      onchange: (e) => {
        const x = Number(e.target.value);
        const ok = Number.isInteger(x) && x >= 1 && x <= MAX_CHANNELS;
        input.classList.toggle('invalid', !ok);
        if (ok) store.update({ [key]: x });
      } });
    return [h('div', { class: 'field', dataset: { hide: key } }, h('label', { for: `ctl-${key}` }, h('span', {}, label)), input), input];
  };
  const [ncField, ncInput] = number('nc', ['Channels in, n', h('sub', {}, 'C')], 'Channels of the input volume (3 for an RGB image)');
  const [filtersField, filtersInput] = number('filters', ['Filters, n', h('sub', {}, 'C'), '′'], 'Filters of the layer: channels of its output');
  const conv = h('p', { class: 'cnn-count', id: 'params-conv' });
  const dense = h('p', { class: 'cnn-count', id: 'params-dense' });
  const pooling = h('p', { class: 'cnn-count', id: 'params-pool' });
  root.append(h('h3', {}, 'Parameters'), h('div', { class: 'lab-row2' }, ncField, filtersField), conv, dense, pooling);

  /** Show the counts for an n×n input, an f×f filter and an outSize×outSize output. */
  return function show({ n, f, outSize, pool }) {
    const s = store.state;
    ncInput.value = s.nc;
    filtersInput.value = s.filters;
    if (outSize < 1) {
      conv.textContent = dense.textContent = '';
      pooling.hidden = true;
      return;
    }
    const c = parameterCounts({ n, f, nC: s.nc, filters: s.filters, outSize });
    conv.dataset.count = c.conv;
    dense.dataset.count = c.dense;
    conv.replaceChildren(h('span', { class: 'cnn-count-name' }, 'Conv layer'),
      ' f·f·', nC(), '·', nC('′'), ' + ', nC('′'), ` = ${f}·${f}·${s.nc}·${s.filters} + ${s.filters} = `, h('strong', {}, fmtInt(c.conv)));
    dense.replaceChildren(h('span', { class: 'cnn-count-name' }, 'Dense layer'),
      ` ${n}·${n}·${s.nc} = ${fmtInt(c.inputs)} inputs → ${outSize}·${outSize}·${s.filters} = ${fmtInt(c.units)} units: `
      + `${fmtInt(c.inputs)}·${fmtInt(c.units)} + ${fmtInt(c.units)} = `, h('strong', {}, fmtInt(c.dense)));
    pooling.hidden = !pool;
    pooling.dataset.count = 0;
    pooling.replaceChildren(h('span', { class: 'cnn-count-name' }, 'Pooling'), ' f and s are fixed: ', h('strong', {}, '0'), ' parameters');
  };
}
