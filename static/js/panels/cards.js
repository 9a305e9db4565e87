// Cards: the gradient-norm gauge (‖dW[l]‖ per layer on a log scale, so vanishing and exploding
// gradients are visible) and the bias/variance card (train/dev/human-level error, the diagnosis
// and the course's recipe).
import { h, fmt, fmtPct } from '../dom.js';
import { control } from '../widgets.js';

const LOG_MIN = -8; // gauge range 1e-8 .. 1e4
const LOG_MAX = 4;
const VANISHING = 1e-6;
const EXPLODING = 1e2;
const sup = (n) => String(n).replace(/-/g, '⁻').replace(/\d/g, (d) => '⁰¹²³⁴⁵⁶⁷⁸⁹'[d]);

// The course's recipe, used until the server's diagnosis (engine/diagnosis.py) arrives.
const VERDICT_KIND = { 'high bias': 'bias', 'high variance': 'variance', 'high bias and high variance': 'both', neither: 'none' };
const THRESHOLD = 0.02;

export function createGradientGauge(root) {
  const rows = h('div', { class: 'gauge-rows', id: 'grad-gauge' });
  const note = h('p', { class: 'gauge-note', id: 'grad-note', role: 'status' });
  const ticks = h('div', { class: 'gauge-axis', 'aria-hidden': 'true' },
    [-8, -4, 0, 4].map((e) => h('span', { style: `left: ${((e - LOG_MIN) / (LOG_MAX - LOG_MIN)) * 100}%` }, `10${sup(e)}`)));
  root.append(h('h3', {}, 'Gradient norm ‖dW[l]‖ per layer'), rows, h('div', { class: 'gauge-row axis-row' }, h('span'), ticks, h('span')), note);
  let bars = [];

  return {
    update({ header }) {
      const norms = header.grad_norms ?? [];
      if (bars.length !== norms.length) {
        bars = norms.map((_, l) => {
          const fill = h('div', { class: 'gauge-fill' });
          const value = h('span', { class: 'gauge-value tabular' });
          rows.append(h('div', { class: 'gauge-row' }, h('span', { class: 'gauge-label' }, `dW[${l + 1}]`),
            h('div', { class: 'gauge-track' }, fill), value));
          return { fill, value };
        });
        rows.replaceChildren(...bars.map((b) => b.fill.parentElement.parentElement));
      }
      norms.forEach((n, l) => {
        const e = Math.log10(Math.max(n, 10 ** LOG_MIN));
        // before the first step there are no gradients yet: nothing to flag
        const state = header.iteration === 0 ? 'ok' : n < VANISHING ? 'vanishing' : n > EXPLODING ? 'exploding' : 'ok';
        bars[l].fill.style.width = `${Math.max(1, Math.min(100, ((e - LOG_MIN) / (LOG_MAX - LOG_MIN)) * 100))}%`;
        bars[l].fill.dataset.state = state;
        bars[l].value.textContent = fmt(n, 2);
      });
      const first = norms[0];
      const last = norms.at(-1);
      let text = '';
      if (norms.some((n) => n > EXPLODING)) text = 'Exploding gradients: lower the learning rate or use a smaller initialization.';
      else if (norms.length > 1 && first > 0 && last / first > 1e3) text = 'Gradients shrink towards the input layers (vanishing): try ReLU, He initialization or batch norm.';
      else if (header.iteration > 0 && norms.length && norms.every((n) => n < VANISHING)) text = 'Gradients are ≈ 0: training has converged or stalled (saturated units, zero initialization).';
      note.textContent = text;
      note.hidden = !text;
    },
  };
}

export function createBiasVarianceCard(root, store) {
  const cell = (id) => h('td', { class: 'tabular', id });
  const trainErr = cell('train-error');
  const devErr = cell('dev-error');
  const bias = cell('avoidable-bias');
  const variance = cell('variance');
  const verdict = h('p', { class: 'verdict', id: 'verdict', role: 'status' }, 'Train to see the diagnosis.');
  const advice = h('p', { class: 'advice', id: 'advice' });
  const human = control(store, 'human_error', { label: 'Human-level error', className: 'field-inline' });
  human.querySelector('input').placeholder = 'e.g. 0.01';
  root.append(h('div', { class: 'card-head' }, h('h3', {}, 'Bias / variance'), human),
    h('table', { class: 'bv-table' }, h('tbody', {},
      h('tr', {}, h('th', { scope: 'row' }, 'Train error'), trainErr, h('th', { scope: 'row' }, 'Avoidable bias'), bias),
      h('tr', {}, h('th', { scope: 'row' }, 'Dev error'), devErr, h('th', { scope: 'row' }, 'Variance'), variance))),
    verdict, advice);

  return {
    update({ header }) {
      const d = header.diagnosis;
      const acc = (s) => (s?.accuracy != null ? 1 - s.accuracy : null);
      const te = acc(header.train);
      const de = acc(header.dev);
      trainErr.textContent = fmtPct(te);
      devErr.textContent = fmtPct(de);
      bias.textContent = fmtPct(d?.avoidable_bias);
      variance.textContent = fmtPct(d?.variance);
      bias.dataset.high = String(d ? d.avoidable_bias > (d.threshold ?? THRESHOLD) : false);
      variance.dataset.high = String(d ? d.variance > (d.threshold ?? THRESHOLD) : false);
      if (!d) {
        verdict.textContent = !header.train ? 'Train to see the diagnosis.'
          : header.train.accuracy == null ? 'Regression: compare the train and dev cost instead.'
            : header.dev == null ? 'Needs a dev set: pick a split with dev data.' : 'Train to see the diagnosis.';
        verdict.dataset.kind = '';
        advice.textContent = '';
        return;
      }
      const kind = VERDICT_KIND[d.verdict] ?? 'none';
      verdict.textContent = kind === 'none' ? 'Neither high bias nor high variance' : d.verdict.charAt(0).toUpperCase() + d.verdict.slice(1);
      verdict.dataset.kind = kind;
      const tips = Array.isArray(d.advice) ? d.advice : d.advice ? [d.advice] : [];
      advice.textContent = kind === 'none' ? tips.join(' ') : `Try: ${tips.join(' · ')}.`;
    },
  };
}
