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

// The server's diagnosis (engine/diagnosis.py, diagnose_run) decides what the card says; the card
// only lays it out. data-kind colours the headline: the verdicts as before, and the run states.
const VERDICT_KIND = { 'high bias': 'bias', 'high variance': 'variance', 'high bias and high variance': 'both', neither: 'none' };
const THRESHOLD = 0.02;

// All gradients ≈ 0 means different things: a dead net, a run that converged, or one that stalled.
function vanishingNote(header) {
  const d = header.diagnosis;
  if (d?.state === 'dead') return 'All gradients are 0: the net is dead and cannot learn (see the bias/variance card).';
  if (d?.state === 'oscillating' || d?.state === 'diverged') return '';
  const trainError = header.train?.accuracy != null ? 1 - header.train.accuracy : null;
  if (trainError != null && trainError <= (d?.human_error ?? 0) + THRESHOLD) return 'Gradients are ≈ 0: training has converged.';
  return 'Gradients are ≈ 0: training has stalled (saturated units, zero initialization).';
}

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
      const runIssue = ['oscillating', 'diverged'].includes(header.diagnosis?.state);
      let text = '';
      if (norms.some((n) => n > EXPLODING)) text = 'Exploding gradients: lower the learning rate or use a smaller initialization.';
      else if (runIssue) text = ''; // α too large: the card says so; saturated layers are not the cause
      else if (norms.length > 1 && first > 0 && last / first > 1e3) text = 'Gradients shrink towards the input layers (vanishing): try ReLU, He initialization or batch norm.';
      else if (header.iteration > 0 && norms.length && norms.every((n) => n < VANISHING)) text = vanishingNote(header);
      note.textContent = text;
      note.hidden = !text;
    },
  };
}

export function createBiasVarianceCard(root, store) {
  const cell = (id) => h('td', { class: 'tabular', id });
  const trainErr = cell('train-error');
  const devErr = cell('dev-error');
  const testErr = cell('test-error');
  const bias = cell('avoidable-bias');
  const variance = cell('variance');
  const testRow = h('tr', { id: 'test-row', hidden: true },
    h('th', { scope: 'row' }, 'Test error'), testErr,
    h('th', { colspan: '2', class: 'bv-test-note' }, 'final estimate, not for tuning'));
  const verdict = h('p', { class: 'verdict', id: 'verdict', role: 'status' }, 'Train to see the diagnosis.');
  const why = h('p', { class: 'advice', id: 'diagnosis-message' });
  const advice = h('p', { class: 'advice', id: 'advice' });
  const human = control(store, 'human_error', { label: 'Human-level error', className: 'field-inline' });
  human.querySelector('input').placeholder = 'e.g. 0.01';
  root.append(h('div', { class: 'card-head' }, h('h3', {}, 'Bias / variance'), human),
    h('table', { class: 'bv-table' }, h('tbody', {},
      h('tr', {}, h('th', { scope: 'row' }, 'Train error'), trainErr, h('th', { scope: 'row' }, 'Avoidable bias'), bias),
      h('tr', {}, h('th', { scope: 'row' }, 'Dev error'), devErr, h('th', { scope: 'row' }, 'Variance'), variance),
      testRow)),
    verdict, why, advice);

  return {
    update({ header }) {
      const d = header.diagnosis;
      const acc = (s) => (s?.accuracy != null ? 1 - s.accuracy : null);
      const te = d?.train_error ?? acc(header.train);
      const de = d?.dev_error ?? acc(header.dev);
      const tst = d?.test_error ?? acc(header.test);
      trainErr.textContent = fmtPct(te);
      devErr.textContent = fmtPct(de);
      testErr.textContent = fmtPct(tst);
      testRow.hidden = tst == null;
      testRow.title = d?.test_note ?? '';
      const threshold = d?.threshold ?? THRESHOLD;
      // gaps only with a verdict; a dev set that does better than train is not a negative variance
      bias.textContent = fmtPct(d?.avoidable_bias);
      variance.textContent = d?.variance == null && d?.dev_train_gap < 0 ? '— (dev better)' : fmtPct(d?.variance);
      bias.dataset.high = String(d?.avoidable_bias != null && d.avoidable_bias > threshold);
      variance.dataset.high = String(d?.variance != null && d.variance > threshold);
      if (!d) {
        verdict.textContent = !header.train ? 'Train to see the diagnosis.'
          : header.train.accuracy == null ? 'Regression: compare the train and dev cost instead.'
            : header.dev == null ? 'Needs a dev set: pick a split with dev data.' : 'Train to see the diagnosis.';
        verdict.dataset.kind = '';
        verdict.dataset.state = '';
        why.textContent = '';
        advice.textContent = '';
        return;
      }
      const diagnosed = d.state === 'diagnosed';
      const kind = diagnosed ? (VERDICT_KIND[d.verdict] ?? 'none') : d.state;
      verdict.textContent = d.headline ?? d.verdict ?? '';
      verdict.dataset.kind = kind;
      verdict.dataset.state = d.state ?? '';
      why.textContent = d.message ?? '';
      const tips = Array.isArray(d.advice) ? d.advice : d.advice ? [d.advice] : [];
      advice.textContent = !tips.length || kind === 'none' ? '' : `Try: ${tips.join(' · ')}.`;
    },
  };
}
