// CURVES: train and dev cost vs iteration with the raw (faint) and EWMA-smoothed (solid)
// mini-batch cost, and accuracy; the test set's cost and accuracy as numbers when the split has
// a test part. Redrawn in place at most ~8 times a second.
import { h, fmt, fmtPct } from '../dom.js';
import { TRAIN_CURVE, DEV_CURVE } from '../colors.js';
import { plotFont, resizeWithContainer, throttled } from '../plots.js';

const PLOT_CONFIG = { displaylogo: false, responsive: true, displayModeBar: false };
const REDRAW_MS = 200;
const MB_RAW = 'rgba(51,58,64,0.2)';
const MB_EWMA = '#8d959c';

const line = (name, x, y, color, width, extra = {}) => ({
  type: 'scatter', mode: 'lines', name, x, y, connectgaps: true,
  line: { color, width }, hovertemplate: `${name} %{y:.4f}<extra>it %{x}</extra>`, ...extra,
});

/** An HTML legend (Plotly's takes plot space from small plots): [label, colour, width]. */
const legend = (items) => h('div', { class: 'legend curve-legend' }, items.map(([label, color, width]) =>
  h('span', { class: 'legend-item' }, h('span', { class: 'line-swatch', style: `--swatch: ${color}; --width: ${width}px` }), label)));

export function createCurves(root, store, history) {
  const costValues = h('span', { class: 'panel-values tabular', id: 'cost-values' });
  const accValues = h('span', { class: 'panel-values tabular', id: 'accuracy-values' });
  const cost = h('div', { class: 'curve-plot', id: 'cost-plot', role: 'img', 'aria-label': 'Cost against iteration' });
  const accuracy = h('div', { class: 'curve-plot small', id: 'accuracy-plot', role: 'img', 'aria-label': 'Accuracy against iteration' });
  const noAccuracy = h('p', { class: 'muted empty-note', hidden: true }, 'Regression has no accuracy: follow the cost.');
  // The test set is shown as numbers only (no curve to tune on): the final, unbiased estimate.
  const testValues = h('span', { class: 'tabular', id: 'test-values' });
  const testNote = h('p', { class: 'test-metrics', id: 'test-metrics', hidden: true },
    h('strong', {}, 'Test '), testValues,
    h('span', { class: 'muted' }, ' · for the final unbiased estimate: choose the model with train and dev, look at test last.'));
  const accBlock = h('div', { class: 'panel-block' }, h('h3', {}, 'Accuracy', accValues),
    legend([['train', TRAIN_CURVE, 2], ['dev', DEV_CURVE, 2]]), accuracy, noAccuracy, testNote);
  root.append(h('div', { class: 'panel-block grow' }, h('h3', {}, 'Cost', costValues),
    legend([['train', TRAIN_CURVE, 2], ['dev', DEV_CURVE, 2], ['mini-batch', '#cdd1d5', 2], ['EWMA', MB_EWMA, 2]]), cost), accBlock);

  resizeWithContainer(cost);
  resizeWithContainer(accuracy);
  let kind = 'binary';
  let revision = 0;       // the series grow in place: tell Plotly.react they changed

  function layout(yaxis = {}) {
    const scale = store.get('presenter') ? 1.5 : 1;
    return {
      uirevision: 'curves', datarevision: revision, margin: { l: 40 * scale, r: 8, t: 6, b: 30 * scale }, showlegend: false,
      paper_bgcolor: 'rgba(0,0,0,0)', plot_bgcolor: '#ffffff',
      font: plotFont(store),
      xaxis: { title: { text: 'iteration', standoff: 2, font: { size: 10.5 * scale } }, gridcolor: '#eceef0', zeroline: false, rangemode: 'tozero', linecolor: '#b9bec3' },
      yaxis: { gridcolor: '#eceef0', zeroline: false, linecolor: '#b9bec3', rangemode: 'tozero', ...yaxis },
    };
  }

  /** After a blow-up: the cost axis clipped to a few times the largest cost before the
   *  blow-up (a last finite cost of 1e300 would flatten the rest to zero), the blow-up point
   *  marked at the top edge with "diverged: cost → ∞". {} and no marker while healthy. */
  function divergence() {
    const d = history.diverged;
    if (!d) return { yaxis: {}, traces: [] };
    const x = history.iteration;
    const series = [history.minibatch, history.minibatch_ewma, history.train_cost, history.dev_cost];
    let before = 0; // the largest cost before the blow-up point
    let top = 0;
    for (const ys of series) {
      ys.forEach((y, i) => {
        if (typeof y !== 'number') return;
        if (x[i] < d.costIteration) before = Math.max(before, y);
        top = Math.max(top, y);
      });
    }
    const blowUp = Math.max(d.cost ?? 0, top);
    const clip = before > 0 && blowUp > 4 * before ? 3 * before : null;
    const yTop = clip ?? blowUp;
    const label = 'diverged: cost → ∞';
    const detail = `diverged at iteration ${d.iteration}${d.cost != null ? `: last finite cost ${fmt(d.cost, 3)} at it ${d.costIteration}` : ''}`;
    const marker = {
      type: 'scatter', mode: 'markers+text', name: 'diverged', x: [d.costIteration], y: [yTop],
      marker: { symbol: 'triangle-up', size: 11, color: '#c0392b' }, cliponaxis: false,
      text: [label], textposition: 'bottom left', textfont: { color: '#c0392b', size: 11 },
      hovertemplate: `${detail}<extra></extra>`,
    };
    // huge costs: short tick labels (1e+72), and room for them
    const ticks = yTop > 1e5 ? { exponentformat: 'e', automargin: true } : {};
    return { yaxis: clip ? { range: [0, clip], autorange: false, rangemode: 'normal', ...ticks } : ticks, traces: [marker] };
  }

  function draw() {
    revision += 1;
    if (!window.Plotly) return;
    const x = history.iteration;
    const blowUp = divergence();
    window.Plotly.react(cost, [
      line('mini-batch', x, history.minibatch, MB_RAW, 1, { hoverinfo: 'skip' }),
      line('mini-batch EWMA', x, history.minibatch_ewma, MB_EWMA, 1.5),
      line('train', x, history.train_cost, TRAIN_CURVE, 2.2),
      line('dev', x, history.dev_cost, DEV_CURVE, 2.2),
      ...blowUp.traces,
    ], layout(blowUp.yaxis), PLOT_CONFIG);
    if (kind !== 'regression') {
      window.Plotly.react(accuracy, [
        line('train', x, history.train_accuracy, TRAIN_CURVE, 2.2),
        line('dev', x, history.dev_accuracy, DEV_CURVE, 2.2),
      ], layout({ range: [0, 1.02], tickformat: '.0%', rangemode: 'normal' }), PLOT_CONFIG);
    }
  }

  // Redraw soon (coalesced): plotting every frame would cost more than training.
  const schedule = throttled(draw, REDRAW_MS);

  store.subscribe((changed) => { if (changed.includes('presenter')) schedule(); });

  return {
    plots: { cost, accuracy },
    setKind(k) {
      kind = k;
      accuracy.hidden = k === 'regression';
      noAccuracy.hidden = k !== 'regression';
    },
    /** The run blew up: redraw now with its last finite point (history.diverge was called). */
    showDivergence() { schedule(); },
    update({ header }) {
      const t = header.train;
      const d = header.dev;
      costValues.textContent = t ? `train ${fmt(t.cost, 3)}${d ? ` · dev ${fmt(d.cost, 3)}` : ''}` : '';
      accValues.textContent = t?.accuracy != null ? `train ${fmtPct(t.accuracy)}${d?.accuracy != null ? ` · dev ${fmtPct(d.accuracy)}` : ''}` : '';
      const test = header.test; // null when the split has no test part
      testNote.hidden = !test;
      if (test) testValues.textContent = `cost ${fmt(test.cost, 3)}${test.accuracy != null ? ` · accuracy ${fmtPct(test.accuracy)}` : ''}`;
      schedule();
    },
  };
}
