// The lab's left column: the surface (and its parameters) and the racing optimizers, each with its
// hyperparameters. Learning rates and β/ε changes are live (`set`); the rest restarts the race.
// Every control's wrapper carries `data-hide` (its `<key>_hide=true` name); the ones a projector
// does not need are `secondary` (hidden in presenter mode). GD's α slider marks 2/λ_max, the
// step size above which gradient descent diverges on the surface (the server's `lr_limit`).
import { h, fmt } from '../dom.js';
import {
  SURFACES, SURFACE_LABELS, OPTIMIZERS, OPTIMIZER_LABELS, SHORT_LABELS, USES, RANGES, SURFACE_RANGES, BATCH_SIZES,
  MAX_OPTIMIZERS, LOGISTIC_M, newOptimizer, displayNames, withSuggestedRates,
} from './state.js';
import { inRange, rangeText } from './schema.js';

const TOLERANCES = [1e-2, 1e-3, 1e-4, 1e-6, 1e-8];
const LR_MIN = -6; // log10 of the α slider's ends
const LR_MAX = 1;

function errorSlot() {
  return h('div', { class: 'field-error', role: 'alert', hidden: true });
}

function setError(slot, message) {
  slot.textContent = message || '';
  slot.hidden = !message;
  slot.closest('.field')?.classList.toggle('invalid', Boolean(message));
}

/** A range slider with its value shown in the label; `toValue`/`toSlider` map positions. */
function slider({ id, label, min, max, step, value, show, onInput, hide, toValue = (x) => x, toSlider = (x) => x }) {
  const out = h('output', { for: id, class: 'range-value' }, show(value));
  const input = h('input', { type: 'range', id, min, max, step, value: toSlider(value) });
  input.addEventListener('input', () => { const v = toValue(Number(input.value)); out.textContent = show(v); onInput(v); });
  const error = errorSlot();
  return { el: h('div', { class: 'field', dataset: { hide } }, h('label', { for: id }, label, out), input, error), input, out, error };
}

export function createSetup(root, store) {
  const surfaceBox = h('div', { class: 'lab-surface-controls' });
  const optimizerBox = h('div', { class: 'lab-optimizers' });
  const addRow = h('div', { class: 'lab-add', role: 'group', 'aria-label': 'Add an optimizer', dataset: { hide: 'add' } });
  const errors = new Map(); // server field -> error slot
  let lrLimit = null;       // 2/λ_max of the surface shown (null: none, e.g. the saddle)
  const limitMarks = [];    // GD cards' markers of it

  root.append(
    h('h2', { class: 'column-title', id: 'h-surface', dataset: { hide: 'surface' } }, 'Cost surface'), surfaceBox,
    h('h2', { class: 'column-title lab-title-gap', id: 'h-optimizers' }, 'Optimizers'), optimizerBox, addRow,
  );

  // ------------------------------------------------------------------ surface
  function renderSurface(s) {
    errors.clear();
    const tiles = h('div', { class: 'lab-tiles', role: 'radiogroup', 'aria-labelledby': 'h-surface', dataset: { hide: 'surface' } },
      SURFACES.map((name) => h('button', {
        type: 'button', class: 'lab-tile', role: 'radio', 'aria-checked': String(s.surface === name), id: `surface-${name}`,
        onclick: () => s.surface !== name && store.update({ surface: name, start: null,
          optimizers: withSuggestedRates(store.state.optimizers, name, store.state.normalized) }),
      }, SURFACE_LABELS[name])));
    const parts = [tiles];
    if (s.surface === 'quadratic') {
      const kappa = slider({
        id: 'ctl-condition', label: 'Condition number κ', min: Math.log10(SURFACE_RANGES.condition.lo),
        max: Math.log10(SURFACE_RANGES.condition.hi), step: 0.01, value: s.condition,
        show: (v) => fmt(v, 3), toValue: (x) => Number((10 ** x).toPrecision(3)), toSlider: (v) => Math.log10(v),
        onInput: (v) => store.update({ condition: v }), hide: 'condition',
      });
      const rot = slider({
        id: 'ctl-rotation', label: 'Rotation', min: -90, max: 90, step: 1, value: s.rotation,
        show: (v) => `${v}°`, onInput: (v) => store.update({ rotation: v }), hide: 'rotation',
      });
      errors.set('surface.condition', kappa.error).set('surface.rotation', rot.error);
      parts.push(kappa.el, rot.el);
    }
    if (s.surface === 'logistic') {
      const norm = h('input', { type: 'checkbox', id: 'ctl-normalized', role: 'switch', checked: s.normalized,
        onchange: (e) => store.update({ normalized: e.target.checked, start: null,
          optimizers: withSuggestedRates(store.state.optimizers, 'logistic', e.target.checked) }) });
      const batch = h('select', { id: 'ctl-batch', onchange: (e) => store.update({ batch: Number(e.target.value) }) },
        BATCH_SIZES.map((b) => h('option', { value: b, selected: b === s.batch },
          b === 0 ? `Full batch (m = ${LOGISTIC_M})` : b === 1 ? '1 (stochastic)' : `${b} (mini-batch)`)));
      const batchError = errorSlot();
      errors.set('surface.batch_size', batchError);
      parts.push(
        h('p', { class: 'lab-note secondary' }, 'x₁ ∈ [0, 3], x₂ ∈ [0, 1]: ŷ = σ(w₁x₁ + w₂x₂), cost = cross-entropy.'),
        h('div', { class: 'field field-check', dataset: { hide: 'normalized' } }, norm, h('label', { for: 'ctl-normalized' }, 'Normalize inputs (x − μ)/σ')),
        h('div', { class: 'field', dataset: { hide: 'batch' } }, h('label', { for: 'ctl-batch' }, 'Batch size'), batch, batchError),
      );
    }
    // a link's tolerance that is not one of the usual ones is offered too (the menu shows the value used)
    const tolerances = TOLERANCES.includes(s.tol) ? TOLERANCES : [...TOLERANCES, s.tol].sort((a, b) => b - a);
    const tol = h('select', { id: 'ctl-tol', onchange: (e) => store.update({ tol: Number(e.target.value) }) },
      tolerances.map((t) => h('option', { value: t, selected: t === s.tol }, `J − J* < ${fmt(t)}`)));
    const start = s.start ? `(${fmt(s.start[0], 3)}, ${fmt(s.start[1], 3)})` : 'default';
    parts.push(
      h('div', { class: 'lab-row2' },
        h('div', { class: 'field secondary', dataset: { hide: 'tol' } }, h('label', { for: 'ctl-tol' }, 'Converged when'), tol),
        h('div', { class: 'field', dataset: { hide: 'start' } }, h('span', { class: 'field-label' }, 'Start point'),
          h('div', { class: 'lab-start' }, h('span', { id: 'start-value' }, start),
            s.start ? h('button', { type: 'button', class: 'btn-small', onclick: () => store.update({ start: null }) }, 'Default') : null))),
      h('p', { class: 'lab-note secondary', dataset: { hide: 'start' } }, 'Click the plot to start every optimizer from there.'),
    );
    surfaceBox.replaceChildren(...parts);
  }

  // ------------------------------------------------------------------ optimizers
  function numberInput(o, key, index) {
    const r = RANGES[key];
    const id = `opt-${o.id}-${key}`;
    const input = h('input', { type: 'text', id, inputmode: 'decimal', spellcheck: 'false', autocomplete: 'off', value: fmt(o[key], 6) });
    const error = errorSlot();
    errors.set(`optimizers.${index}.${key}`, error);
    input.addEventListener('change', () => {
      const v = Number(input.value.trim());
      const ok = input.value.trim() !== '' && inRange(r, v);
      setError(error, ok ? null : `${r.label} must be a number in ${rangeText(r)}`);
      if (ok) store.updateOptimizer(o.id, { [key]: v }, { live: true });
    });
    const secondary = key === 'epsilon' ? ' secondary' : '';
    return h('div', { class: `field${secondary}`, dataset: { hide: key } }, h('label', { for: id }, r.label), input, error);
  }

  /** β of momentum and Nesterov: a slider (live, like α) with its value. */
  function betaSlider(o, index) {
    const id = `opt-${o.id}-beta`;
    const out = h('output', { for: id, class: 'range-value', id: `${id}-value` }, fmt(o.beta, 4));
    const input = h('input', { type: 'range', id, min: 0, max: 0.99, step: 0.01, value: Math.min(o.beta, 0.99), 'aria-label': 'β' });
    const error = errorSlot();
    errors.set(`optimizers.${index}.beta`, error);
    input.addEventListener('input', () => {
      const v = Number(input.value);
      out.textContent = fmt(v, 4);
      setError(error, null);
      store.updateOptimizer(o.id, { beta: v }, { live: true });
    });
    return h('div', { class: 'field lab-beta', dataset: { hide: 'beta' } }, h('label', { for: id }, 'Momentum β', out), input, error);
  }

  function placeLimit(mark) {
    const usable = Number.isFinite(lrLimit) && lrLimit > 0;
    mark.hidden = !usable;
    if (!usable) return;
    const at = Math.min(1, Math.max(0, (Math.log10(lrLimit) - LR_MIN) / (LR_MAX - LR_MIN)));
    mark.style.left = `calc(0.5rem + (100% - 1rem) * ${at.toFixed(4)})`;
    mark.classList.toggle('lr-limit-end', at > 0.85); // its label left of the mark near the right end
    mark.title = `2/λmax = ${fmt(lrLimit, 3)}: gradient descent diverges with a larger α`;
    mark.parentElement?.setAttribute('title', mark.title);
  }

  function card(o, index, names, count) {
    const lrId = `opt-${o.id}-lr`;
    const lrOut = h('input', { type: 'text', class: 'lr-text', id: `${lrId}-text`, 'aria-label': `${names[o.id]} learning rate`, value: fmt(o.learning_rate, 4), inputmode: 'decimal' });
    const lr = h('input', { type: 'range', id: lrId, min: LR_MIN, max: LR_MAX, step: 0.01, value: Math.log10(o.learning_rate) });
    let track = lr;
    if (o.name === 'gd') { // 2/λ_max under the slider: beyond it gradient descent diverges
      const mark = h('span', { class: 'lr-limit', 'aria-hidden': 'true', hidden: true }, h('span', { class: 'lr-limit-text' }, '2/λ'));
      track = h('div', { class: 'lr-track' }, lr, mark);
      limitMarks.push(mark);
      placeLimit(mark);
    }
    const lrError = errorSlot();
    errors.set(`optimizers.${index}.learning_rate`, lrError);
    lr.addEventListener('input', () => {
      const v = Number((10 ** Number(lr.value)).toPrecision(3));
      lrOut.value = fmt(v, 4);
      setError(lrError, null);
      store.updateOptimizer(o.id, { learning_rate: v }, { live: true });
    });
    lrOut.addEventListener('change', () => {
      const v = Number(lrOut.value.trim());
      const ok = lrOut.value.trim() !== '' && inRange(RANGES.learning_rate, v);
      setError(lrError, ok ? null : `α must be a number in ${rangeText(RANGES.learning_rate)}`);
      if (!ok) return;
      lr.value = Math.log10(v);
      store.updateOptimizer(o.id, { learning_rate: v }, { live: true });
    });
    const type = h('select', { id: `opt-${o.id}-name`, 'aria-label': `Optimizer ${index + 1} type`, dataset: { hide: 'type' },
      title: OPTIMIZER_LABELS[o.name], onchange: (e) => store.updateOptimizer(o.id, withSuggestedRates([{ name: e.target.value }], store.state.surface, store.state.normalized)[0]) },
    OPTIMIZERS.map((n) => h('option', { value: n, selected: n === o.name }, SHORT_LABELS[n])));
    const remove = h('button', { type: 'button', class: 'btn-mini', 'aria-label': `Remove ${names[o.id]}`, title: 'Remove',
      disabled: count <= 1, onclick: () => store.update({ optimizers: store.state.optimizers.filter((x) => x.id !== o.id) }) }, '×');
    const hyper = USES[o.name].filter((k) => k !== 'bias_correction' && k !== 'beta').map((k) => numberInput(o, k, index));
    if (USES[o.name].includes('bias_correction')) {
      const id = `opt-${o.id}-bc`;
      hyper.push(h('div', { class: 'field field-check secondary', dataset: { hide: 'bias_correction' } },
        h('input', { type: 'checkbox', id, checked: o.bias_correction,
          onchange: (e) => store.updateOptimizer(o.id, { bias_correction: e.target.checked }, { live: true }) }),
        h('label', { for: id }, 'Bias correction')));
    }
    return h('div', { class: 'lab-opt', dataset: { id: o.id }, style: `--swatch:${o.color}` },
      h('div', { class: 'lab-opt-head' }, h('span', { class: 'swatch', 'aria-hidden': 'true' }),
        h('strong', { class: 'lab-opt-name' }, names[o.id]), type, remove),
      h('div', { class: 'field lab-lr', dataset: { hide: 'lr' } }, h('label', { for: lrId }, 'Learning rate α', lrOut), track, lrError),
      USES[o.name].includes('beta') ? betaSlider(o, index) : null,
      hyper.length ? h('div', { class: 'lab-hyper' }, hyper) : null);
  }

  function renderOptimizers(s) {
    for (const key of [...errors.keys()]) if (key.startsWith('optimizers.')) errors.delete(key);
    const names = displayNames(s.optimizers);
    limitMarks.length = 0;
    optimizerBox.replaceChildren(...s.optimizers.map((o, i) => card(o, i, names, s.optimizers.length)));
    const full = s.optimizers.length >= MAX_OPTIMIZERS;
    addRow.replaceChildren(
      h('span', { class: 'lab-add-label' }, full ? `At most ${MAX_OPTIMIZERS}` : 'Add'),
      ...OPTIMIZERS.map((n) => h('button', { type: 'button', class: 'btn-small', id: `add-${n}`, disabled: full,
        onclick: () => {
          const [added] = withSuggestedRates([newOptimizer(n, store.state.optimizers)], store.state.surface, store.state.normalized);
          store.update({ optimizers: [...store.state.optimizers, added] });
        } },
      `+ ${SHORT_LABELS[n]}`)));
  }

  renderSurface(store.state);
  renderOptimizers(store.state);
  store.subscribe((changed, s, meta) => {
    if (['surface', 'normalized', 'batch', 'tol', 'start'].some((k) => changed.includes(k))) renderSurface(s);
    else if (changed.includes('condition') || changed.includes('rotation')) {
      for (const slot of [errors.get('surface.condition'), errors.get('surface.rotation')]) if (slot) setError(slot, null);
    }
    if (changed.includes('optimizers') && !meta.live) renderOptimizers(s);
  });

  return {
    /** Show a server error next to the control its field names; false if there is none. */
    showError(field, message) {
      const slot = errors.get(field);
      if (!slot) return false;
      setError(slot, message);
      return true;
    },
    clearErrors() { for (const slot of errors.values()) setError(slot, null); },
    /** The surface's 2/λ_max (null: none): marked on every GD α slider. */
    setLrLimit(value) {
      lrLimit = value;
      for (const mark of limitMarks) placeLimit(mark);
    },
  };
}
