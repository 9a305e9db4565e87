// The explorer's settings column: input, filter (and a custom filter's numbers), padding, stride,
// pooling. Each control carries data-hide="<key>" (hidden by `<key>_hide=true`) and follows the store.
import { h } from '../dom.js';
import { FILTER_SIZES, formatNumber } from './conv.js';
import { INPUTS, FILTER_LABELS, POOLS, MAX_PADDING, MAX_STRIDE, MAX_POOL, DRAW_SIZE, encodeDrawing, filterOf } from './state.js';

const range = (lo, hi) => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);

function select(store, key, label, options, { parse = String, id = `ctl-${key}`, onchange = null } = {}) {
  const el = h('select', { id, onchange: (e) => (onchange ? onchange(parse(e.target.value)) : store.update({ [key]: parse(e.target.value) })) },
    options.map(([value, text]) => h('option', { value }, text)));
  const field = h('div', { class: 'field', dataset: { hide: key } }, h('label', { for: id }, label), el);
  return { field, sync: (s) => { el.value = String(s[key]); } };
}

/** The custom f×f filter: its size and a grid of number inputs (an invalid number is marked, not applied). */
function customFilter(store) {
  const cells = h('div', { class: 'cnn-custom', id: 'custom-filter', role: 'group', 'aria-label': 'Custom filter numbers' });
  const resize = (f) => {
    // keep the centre of the current numbers (a 5×5 loses its outer ring, a 1×1 gains one of zeros)
    const old = filterOf({ ...store.state, filter: 'custom' });
    const shift = (old.length - f) / 2;
    store.update({ custom: range(0, f * f - 1).map((k) => old[Math.floor(k / f) + shift]?.[(k % f) + shift] ?? 0) });
  };
  const size = select(store, 'custom_f', 'Size f', FILTER_SIZES.map((f) => [f, `${f}×${f}`]), { parse: Number, onchange: resize });
  size.field.dataset.hide = 'custom';
  const field = h('div', { class: 'field cnn-custom-field', dataset: { hide: 'custom' } },
    h('span', { class: 'field-label' }, 'Filter numbers'), cells);
  const sync = (s) => {
    const f = Math.sqrt(s.custom.length);
    size.sync({ custom_f: f });
    const inputs = [...cells.querySelectorAll('input')];
    cells.style.setProperty('--f', f);
    if (inputs.length === s.custom.length && inputs.every((el, k) => el === document.activeElement || Number(el.value.replace('−', '-')) === s.custom[k])) return;
    cells.replaceChildren(...s.custom.map((v, k) => h('input', {
      type: 'text', inputmode: 'decimal', value: formatNumber(v).replace('−', '-'), 'aria-label': `row ${Math.floor(k / f) + 1}, column ${(k % f) + 1}`,
      dataset: { k }, oninput: (e) => {
        const x = Number(e.target.value.trim().replace('−', '-'));
        const ok = e.target.value.trim() !== '' && Number.isFinite(x) && Math.abs(x) <= 1000;
        e.target.classList.toggle('invalid', !ok);
        if (ok) store.update({ custom: store.state.custom.map((y, i) => (i === k ? x : y)) });
      },
    })));
  };
  return { fields: [size.field, field], sync };
}

export function createSetup(root, store, { digits }) {
  const tiles = Object.entries(INPUTS).map(([value, text]) => h('button', {
    type: 'button', class: 'lab-tile cnn-tile', role: 'radio', dataset: { input: value }, id: `input-${value}`,
    disabled: value === 'digit' && !digits, onclick: () => store.update({ input: value }),
  }, text));
  const inputField = h('div', { class: 'field', dataset: { hide: 'input' } },
    h('span', { class: 'field-label', id: 'input-label' }, 'Input image'),
    h('div', { class: 'cnn-tiles', role: 'radiogroup', 'aria-labelledby': 'input-label' }, tiles));
  const digit = select(store, 'digit', 'Digit (8×8, 0–16)', range(0, 9).map((d) => [d, `${d}`]), { parse: Number });
  const clear = h('button', { type: 'button', class: 'btn-small', id: 'clear-drawing',
    onclick: () => store.update({ drawing: encodeDrawing(range(1, DRAW_SIZE).map(() => new Array(DRAW_SIZE).fill(0))) }) }, 'Clear');
  const drawNote = h('div', { class: 'cnn-draw-note', dataset: { hide: 'drawing' } },
    h('p', { class: 'lab-note' }, 'Drag on the input to draw; a stroke that starts on a lit pixel erases.'), clear);

  const filter = select(store, 'filter', 'Filter', Object.entries(FILTER_LABELS), {
    // a custom filter starts from the numbers shown, so one can edit a Sobel filter
    onchange: (value) => store.update(value === 'custom' ? { filter: value, custom: filterOf(store.state).flat() } : { filter: value }),
  });
  const custom = customFilter(store);
  const padding = select(store, 'padding', 'Padding p', [['valid', 'valid'], ['same', 'same'],
    ...range(1, MAX_PADDING).map((p) => [p, `${p}`])], { parse: (v) => (v === 'valid' || v === 'same' ? v : Number(v)) });
  const stride = select(store, 'stride', 'Stride s', range(1, MAX_STRIDE).map((s) => [s, `${s}`]), { parse: Number });
  const poolMode = select(store, 'pool', 'Pooling after it', Object.entries(POOLS));
  const poolF = select(store, 'pool_f', 'Pool size f', range(1, MAX_POOL).map((f) => [f, `${f}×${f}`]), { parse: Number });
  const poolS = select(store, 'pool_s', 'Pool stride s', range(1, MAX_POOL).map((s) => [s, `${s}`]), { parse: Number });
  const poolRow = h('div', { class: 'lab-row2' }, poolF.field, poolS.field);

  root.append(
    h('h2', { class: 'column-title' }, 'Input'), inputField, digit.field, drawNote,
    h('h2', { class: 'column-title lab-title-gap' }, 'Filter'), filter.field, ...custom.fields,
    h('div', { class: 'lab-row2' }, padding.field, stride.field),
    h('h2', { class: 'column-title lab-title-gap' }, 'Pooling'), poolMode.field, poolRow,
  );

  function sync(s) {
    for (const t of tiles) t.setAttribute('aria-checked', String(t.dataset.input === s.input));
    digit.field.hidden = s.input !== 'digit';
    drawNote.hidden = s.input !== 'drawn';
    for (const c of [digit, filter, padding, stride, poolMode, poolF, poolS]) c.sync(s);
    for (const f of custom.fields) f.hidden = s.filter !== 'custom';
    custom.sync(s);
    poolRow.hidden = s.pool === 'none';
  }
  sync(store.state);
  store.subscribe((changed, s) => sync(s));
}
