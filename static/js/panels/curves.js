// CURVES: train and dev cost vs iteration with the raw (faint) and EWMA-smoothed (solid)
// mini-batch cost, and accuracy; the test set's cost and accuracy as numbers when the split has
// a test part. A frame's new points are appended with Plotly.extendTraces (one redraw per painted
// frame, no copy of the whole curve); a full Plotly.react only when points were removed or
// replaced (a reset, a thinned curve, a divergence) or the look changed (presenter mode).
// `curve`: the run's CostCurve (cost-curve.js).
// The cost axis is fitted to the train, dev and EWMA curves: a raw mini-batch spike is clipped at
// the top instead of flattening them.
import { h, fmt, fmtPct } from '../dom.js';
import { TRAIN_CURVE, DEV_CURVE } from '../colors.js';
import { plotFont, resizeWithContainer } from '../plots.js';

const PLOT_CONFIG = { displaylogo: false, responsive: true, displayModeBar: false };
const COST_SERIES = ['minibatch', 'minibatch_ewma', 'train_cost', 'dev_cost']; // the cost plot's traces, in order
const ACCURACY_SERIES = ['train_accuracy', 'dev_accuracy'];
const HEADROOM = 1.08; // the cost axis's top: the highest train/dev/EWMA cost and a little room
const MB_RAW = 'rgba(51,58,64,0.2)';
const MB_EWMA = '#8d959c';

const line = (name, x, y, color, width, extra = {}) => ({
  type: 'scatter', mode: 'lines', name, x, y, connectgaps: true,
  line: { color, width }, hovertemplate: `${name} %{y:.4f}<extra>it %{x}</extra>`, ...extra,
});

/** An HTML legend (Plotly's takes plot space from small plots): [label, colour, width]. */
const legend = (items) => h('div', { class: 'legend curve-legend' }, items.map(([label, color, width]) =>
  h('span', { class: 'legend-item' }, h('span', { class: 'line-swatch', style: `--swatch: ${color}; --width: ${width}px` }), label)));

export function createCurves(root, store, curve) {
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

  function layout(yaxis = {}) {
    const scale = store.get('presenter') ? 1.5 : 1;
    return {
      uirevision: 'curves', margin: { l: 40 * scale, r: 8, t: 6, b: 30 * scale }, showlegend: false,
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
    const d = curve.diverged;
    if (!d) return { yaxis: {}, traces: [] };
    const x = curve.iteration;
    const series = [curve.minibatch, curve.minibatch_ewma, curve.train_cost, curve.dev_cost];
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

  /** The cost axis's top: the highest finite train, dev or EWMA cost from point `from` on,
   *  above `top` (the raw mini-batch cost is left out: its spikes are clipped). */
  function costTop(from = 0, top = 0) {
    for (const s of ['train_cost', 'dev_cost', 'minibatch_ewma']) {
      const ys = curve[s];
      for (let i = from; i < ys.length; i++) if (typeof ys[i] === 'number' && ys[i] > top) top = ys[i];
    }
    return top;
  }

  let top = 0;            // highest train/dev/EWMA cost plotted
  let userZoom = false;   // the user zoomed the cost plot: its axis is theirs until autoscale

  function costRange(yaxis) {
    if (userZoom) return; // keep theirs (a redraw reads gd.layout's range)
    if (top > 0) Object.assign(yaxis, { range: [0, top * HEADROOM], autorange: false });
    else Object.assign(yaxis, { autorange: true, range: undefined });
  }

  const copy = (s) => curve[s].slice(); // extendTraces grows the plotted arrays, not the curve's

  /** The two plots: each remembers what it shows ({key, length}) and when it was last drawn. */
  const plots = [
    { el: cost, series: COST_SERIES, every: 1, last: -Infinity, key: null, length: 0, off: () => false,
      full() {
        const blowUp = divergence();
        top = costTop();
        const yaxis = { ...blowUp.yaxis };
        if (!curve.diverged) costRange(yaxis);
        window.Plotly.react(cost, [
          line('mini-batch', copy('iteration'), copy('minibatch'), MB_RAW, 1, { hoverinfo: 'skip' }),
          line('mini-batch EWMA', copy('iteration'), copy('minibatch_ewma'), MB_EWMA, 1.5),
          line('train', copy('iteration'), copy('train_cost'), TRAIN_CURVE, 2.2),
          line('dev', copy('iteration'), copy('dev_cost'), DEV_CURVE, 2.2),
          ...blowUp.traces,
        ], layout(yaxis), PLOT_CONFIG);
      },
      extend(from) {
        const next = costTop(from, top);
        if (next !== top) {
          top = next;
          // extendTraces redraws from gd.layout: the new range goes there first (no second redraw)
          costRange(cost.layout.yaxis ?? (cost.layout.yaxis = {}));
        }
      } },
    { el: accuracy, series: ACCURACY_SERIES, every: 2, last: -Infinity, key: null, length: 0, off: () => kind === 'regression',
      full() {
        window.Plotly.react(accuracy, [
          line('train', copy('iteration'), copy('train_accuracy'), TRAIN_CURVE, 2.2),
          line('dev', copy('iteration'), copy('dev_accuracy'), DEV_CURVE, 2.2),
        ], layout({ range: [0, 1.02], tickformat: '.0%', rangemode: 'normal' }), PLOT_CONFIG);
      },
      extend() {} },
  ];

  const keyNow = () => `${curve.version}|${store.get('presenter')}|${kind}`;
  const stale = (p) => !p.off() && (p.key !== keyNow() || p.length !== curve.length);

  /** Bring one plot up to date: the new points appended, or everything redrawn when points were
   *  removed or replaced (curve.version), the run diverged, or the look changed. */
  function sync(p) {
    const key = keyNow();
    const grows = p.key === key && curve.length > p.length && !curve.diverged && p.el.data?.length >= p.series.length;
    if (grows) {
      const from = p.length;
      p.extend(from);
      const x = curve.iteration.slice(from);
      window.Plotly.extendTraces(p.el, { x: p.series.map(() => x), y: p.series.map((s) => curve[s].slice(from)) },
        p.series.map((_, i) => i));
    } else {
      p.full();
    }
    p.key = key;
    p.length = curve.length;
  }

  // A Plotly redraw is the costliest thing on the page (tens of ms): it runs in a task of its
  // own, never inside the animation frame that paints the boundary and the network; one plot per
  // task, the most overdue; the cost plot at most every MIN_GAP_MS (more when a redraw is slow:
  // four times its last cost), the accuracy plot half as often, so the frame rate holds, no task
  // grows long and Plotly takes at most about a fifth of the main thread.
  const MIN_GAP_MS = 150;
  let gap = MIN_GAP_MS;
  let timer = null;
  let lastSync = -Infinity;
  const dueAt = (p) => p.last + gap * p.every;

  function flush({ now = false } = {}) {
    clearTimeout(timer);
    timer = null;
    if (!window.Plotly) return;
    const due = plots.filter(stale).sort((a, b) => (now ? a.last - b.last : dueAt(a) - dueAt(b)))[0];
    if (!due) return;
    const t = performance.now();
    if (now || t >= dueAt(due)) {
      sync(due);
      due.last = performance.now();
      lastSync = due.last;
      gap = Math.max(MIN_GAP_MS, 4 * (due.last - t));
      watchZoom();
    }
    schedule();
  }

  /** A flush soon (coalesced): when the most overdue plot may be redrawn, not right after another. */
  function schedule() {
    if (timer || !plots.some(stale)) return;
    const due = Math.min(...plots.filter(stale).map(dueAt));
    const t = performance.now();
    timer = setTimeout(flush, Math.max(due - t, lastSync + gap / 2 - t, 0));
  }

  // The user's zoom on the cost plot (a drag, or a double-click back to autoscale).
  function watchZoom() {
    if (cost.nnWatched || !cost.on) return;
    cost.nnWatched = true;
    cost.on('plotly_relayout', (e) => {
      if (e['yaxis.autorange'] || e['xaxis.autorange']) { userZoom = false; plots[0].key = null; flush({ now: true }); return; }
      if (Object.keys(e).some((k) => k.startsWith('yaxis.range') || k.startsWith('xaxis.range'))) userZoom = true;
    });
  }
  /** Now: both plots (a divergence, a new run, presenter mode). */
  const redraw = () => { flush({ now: true }); flush({ now: true }); };

  store.subscribe((changed) => { if (changed.includes('presenter')) redraw(); });

  return {
    plots: { cost, accuracy },
    /** The cost plot as a figure for Plotly.downloadImage: with a legend (the page's legend is
     *  HTML, outside the plot) and a size of its own. */
    exportFigure() {
      const base = layout(cost.layout?.yaxis ? { ...cost.layout.yaxis } : {});
      return {
        data: (cost.data ?? []).map((t) => ({ ...t, showlegend: t.name !== 'diverged' })),
        layout: { ...base, showlegend: true, width: 900, height: 500, margin: { ...base.margin, t: 40 },
          legend: { orientation: 'h', x: 0, y: 1.02, yanchor: 'bottom', font: { size: 12 } } },
      };
    },
    setKind(k) {
      kind = k;
      accuracy.hidden = k === 'regression';
      noAccuracy.hidden = k !== 'regression';
    },
    /** The whole curve again, now: after a divergence, a loaded run's history or a new run. */
    redraw,
    update({ header }) {
      const t = header.train;
      const d = header.dev;
      costValues.textContent = t ? `train ${fmt(t.cost, 3)}${d ? ` · dev ${fmt(d.cost, 3)}` : ''}` : '';
      accValues.textContent = t?.accuracy != null ? `train ${fmtPct(t.accuracy)}${d?.accuracy != null ? ` · dev ${fmtPct(d.accuracy)}` : ''}` : '';
      const test = header.test; // null when the split has no test part
      testNote.hidden = !test;
      if (test) testValues.textContent = `cost ${fmt(test.cost, 3)}${test.accuracy != null ? ` · accuracy ${fmtPct(test.accuracy)}` : ''}`;
      schedule(); // the curves follow in a task of their own
    },
  };
}
