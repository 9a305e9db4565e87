// CURVES: train and dev cost vs iteration with the raw (faint) and EWMA-smoothed (solid)
// mini-batch cost, and accuracy; the test set's cost and accuracy as numbers when the split has
// a test part. `curve`: the run's CostCurve (cost-curve.js).
// Every painted frame draws the lines' new segments on a canvas over each plot (curve-layer.js).
// Plotly draws the axes, grid, hover and export, and is redrawn only when an axis must change: the x axis
// runs to a round number above the last iteration (1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k),
// so it steps a few times per decade instead of every frame. Its traces (transparent) catch up
// with the curve's points then, when frames stop, and when the mouse comes to read them: new
// points by Plotly.extendTraces, everything by Plotly.react when points were removed or replaced
// (a reset, a thinned curve, a divergence) or the look changed (presenter mode).
// The cost axis is fitted to the train, dev and EWMA curves: a raw mini-batch spike is clipped at
// the top instead of flattening them.
import { h, fmt, fmtPct } from '../dom.js';
import { TRAIN_CURVE, DEV_CURVE } from '../colors.js';
import { plotFont, resizeWithContainer } from '../plots.js';
import { createCurveLayer } from './curve-layer.js';

const PLOT_CONFIG = { displaylogo: false, responsive: true, displayModeBar: false };
const HEADROOM = 1.08; // the cost axis's top: the highest train/dev/EWMA cost and a little room
const MB_RAW = '#d6d8d9'; // opaque (rgba(51,58,64,0.2) on white): the canvas joins segments drawn frame by frame
const MB_EWMA = '#8d959c';

const HIDDEN_LINE = 'rgba(0,0,0,0)'; // Plotly's traces give hover and export; the canvas draws the lines
const line = (name, x, y, color, width, extra = {}) => ({
  type: 'scatter', mode: 'lines', name, x, y, connectgaps: true, meta: { color },
  line: { color: HIDDEN_LINE, width }, hoverlabel: { bgcolor: color },
  hovertemplate: `${name} %{y:.4f}<extra>it %{x}</extra>`, ...extra,
});
// each plot's lines, in trace order: [curve series, trace name, colour, width]
const COST_LOOK = [['minibatch', 'mini-batch', MB_RAW, 1], ['minibatch_ewma', 'mini-batch EWMA', MB_EWMA, 1.5],
  ['train_cost', 'train', TRAIN_CURVE, 2.2], ['dev_cost', 'dev', DEV_CURVE, 2.2]];
const ACCURACY_LOOK = [['train_accuracy', 'train', TRAIN_CURVE, 2.2], ['dev_accuracy', 'dev', DEV_CURVE, 2.2]];
const ACCURACY_AXIS = { range: [0, 1.02], tickformat: '.0%', rangemode: 'normal' };
const IDLE_MS = 300; // no frame for this long: Plotly's traces catch up (hover and export see every point)

/** The x axis's end: the round number at or above n (1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k). */
function roundAbove(n) {
  if (!(n > 0)) return 1;
  const decade = 10 ** Math.floor(Math.log10(n));
  const step = [1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].find((s) => s * decade >= n * (1 - 1e-12));
  return step * decade;
}

/** An HTML legend (Plotly's takes plot space from small plots): [label, colour, width]. */
const legend = (items) => h('div', { class: 'legend curve-legend' }, items.map(([label, color, width]) =>
  h('span', { class: 'legend-item' }, h('span', { class: 'line-swatch', style: `--swatch: ${color}; --width: ${width}px` }), label)));

export function createCurves(root, store, curve) {
  const costValues = h('span', { class: 'panel-values tabular', id: 'cost-values' });
  const accValues = h('span', { class: 'panel-values tabular', id: 'accuracy-values' });
  const cost = h('div', { class: 'plot-fill', id: 'cost-plot', role: 'img', 'aria-label': 'Cost against iteration' });
  const accuracy = h('div', { class: 'plot-fill', id: 'accuracy-plot', role: 'img', 'aria-label': 'Accuracy against iteration' });
  const costCanvas = h('canvas', { class: 'curve-lines', 'aria-hidden': 'true' });
  const accuracyCanvas = h('canvas', { class: 'curve-lines', 'aria-hidden': 'true' });
  const costBox = h('div', { class: 'curve-plot' }, cost, costCanvas);
  const accuracyBox = h('div', { class: 'curve-plot small' }, accuracy, accuracyCanvas);
  const noAccuracy = h('p', { class: 'muted empty-note', hidden: true }, 'Regression has no accuracy: follow the cost.');
  // The test set is shown as numbers only (no curve to tune on): the final, unbiased estimate.
  const testValues = h('span', { class: 'tabular', id: 'test-values' });
  const testNote = h('p', { class: 'test-metrics', id: 'test-metrics', hidden: true },
    h('strong', {}, 'Test '), testValues,
    h('span', { class: 'muted' }, ' · for the final unbiased estimate: choose the model with train and dev, look at test last.'));
  const accBlock = h('div', { class: 'panel-block' }, h('h3', {}, 'Accuracy', accValues),
    legend([['train', TRAIN_CURVE, 2], ['dev', DEV_CURVE, 2]]), accuracyBox, noAccuracy, testNote);
  root.append(h('div', { class: 'panel-block grow' }, h('h3', {}, 'Cost', costValues),
    legend([['train', TRAIN_CURVE, 2], ['dev', DEV_CURVE, 2], ['mini-batch', '#cdd1d5', 2], ['EWMA', MB_EWMA, 2]]), costBox), accBlock);

  resizeWithContainer(cost);
  resizeWithContainer(accuracy);
  let kind = 'binary';

  const xEnd = () => roundAbove(curve.iteration.at(-1) ?? 0);

  function layout(yaxis = {}, xaxis = { range: [0, xEnd()], autorange: false }) {
    const scale = store.get('presenter') ? 1.5 : 1;
    return {
      uirevision: 'curves', margin: { l: 40 * scale, r: 8, t: 6, b: 30 * scale }, showlegend: false,
      paper_bgcolor: 'rgba(0,0,0,0)', plot_bgcolor: '#ffffff',
      font: plotFont(store),
      xaxis: { title: { text: 'iteration', standoff: 2, font: { size: 10.5 * scale } }, gridcolor: '#eceef0', zeroline: false, rangemode: 'tozero', linecolor: '#b9bec3', ...xaxis },
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
  /** Plotly traces of a plot's lines (transparent: the canvas draws them), or as seen (`shown`). */
  const traces = (look, shown = false) => look.map(([s, name, color, width]) => {
    const t = line(name, copy('iteration'), copy(s), color, width, s === 'minibatch' ? { hoverinfo: 'skip' } : {});
    return shown ? { ...t, line: { color, width } } : t;
  });

  /** The two plots: each remembers what Plotly shows ({key, length, xEnd}) and when it was last
   *  drawn; its `layer` paints its lines. */
  const plots = [
    { el: cost, layer: createCurveLayer(costCanvas, cost), look: COST_LOOK, every: 1, last: -Infinity, key: null, length: 0, xEnd: null,
      off: () => false, zoomed: () => userZoom,
      full() {
        const blowUp = divergence();
        top = costTop();
        const yaxis = { ...blowUp.yaxis };
        if (!curve.diverged) costRange(yaxis);
        window.Plotly.react(cost, [...traces(COST_LOOK), ...blowUp.traces], layout(yaxis, userZoom ? {} : undefined), PLOT_CONFIG);
      },
      /** The cost axis must grow: a new point above its top. */
      higher: (from) => !userZoom && costTop(from, top) > top,
      extend(from) {
        const next = costTop(from, top);
        if (next !== top) {
          top = next;
          // extendTraces redraws from gd.layout: the new range goes there first (no second redraw)
          costRange(cost.layout.yaxis ?? (cost.layout.yaxis = {}));
        }
      } },
    { el: accuracy, layer: createCurveLayer(accuracyCanvas, accuracy), look: ACCURACY_LOOK, every: 2, last: -Infinity, key: null, length: 0, xEnd: null,
      off: () => kind === 'regression', zoomed: () => false,
      full() {
        window.Plotly.react(accuracy, traces(ACCURACY_LOOK), layout(ACCURACY_AXIS), PLOT_CONFIG);
      },
      higher: () => false,
      extend() {} },
  ];
  const seriesOf = (p) => p.look.map(([s]) => s);

  const keyNow = () => `${curve.version}|${store.get('presenter')}|${kind}`;
  /** Plotly's traces lack points of the curve (hover and export would miss them). */
  const behind = (p) => !p.off() && (p.key !== keyNow() || p.length !== curve.length);
  /** Plotly's axes must change: a new run or look, the x axis's end, the cost axis's top. */
  const axesStale = (p) => behind(p) && (p.key !== keyNow() || curve.diverged
    || (!p.zoomed() && xEnd() !== p.xEnd) || p.higher(p.length));
  let catchUpTo = 0; // the traces should hold this many points (frames stopped, or the mouse came to read)
  const due = (p) => axesStale(p) || (behind(p) && p.length < catchUpTo);

  /** Bring one plot up to date: the new points appended, or everything redrawn when points were
   *  removed or replaced (curve.version), the run diverged, or the look changed. */
  function sync(p) {
    const key = keyNow();
    const series = seriesOf(p);
    const grows = p.key === key && curve.length > p.length && !curve.diverged && p.el.data?.length >= series.length;
    if (grows) {
      const from = p.length;
      p.extend(from);
      if (!p.zoomed()) Object.assign(p.el.layout.xaxis ?? (p.el.layout.xaxis = {}), { range: [0, xEnd()], autorange: false });
      const x = curve.iteration.slice(from);
      window.Plotly.extendTraces(p.el, { x: series.map(() => x), y: series.map((s) => curve[s].slice(from)) },
        series.map((_, i) => i));
    } else {
      p.full();
      catchUpTo = Math.min(catchUpTo, curve.length); // a new curve: its own points only
      if (!p.watched) { p.watched = true; p.el.on('plotly_afterplot', () => paintLines(p, true)); } // the lines follow the axes
    }
    p.key = key;
    p.length = curve.length;
    p.xEnd = xEnd();
  }

  /** The plot's lines on its canvas, from the curve's arrays as they are now (`full`: all again,
   *  after Plotly drew new axes; else the new segments). */
  function paintLines(p, full = false) {
    if (p.off()) return;
    p.layer.show(p.look.map(([s, , color, width]) => ({ x: curve.iteration, y: curve[s], color, width })), full);
  }

  // A Plotly redraw is the costliest thing on the page (tens of ms): it runs in a task of its
  // own, never inside the animation frame that paints the boundary and the network; one plot per
  // task, the most overdue; the cost plot at most every MIN_GAP_MS (more when a redraw is slow:
  // four times its last cost), the accuracy plot half as often, so no task grows long.
  const MIN_GAP_MS = 150;
  let gap = MIN_GAP_MS;
  let timer = null;
  let idleTimer = null;
  let lastSync = -Infinity;
  const dueAt = (p) => p.last + gap * p.every;

  function flush({ now = false } = {}) {
    clearTimeout(timer);
    timer = null;
    if (!window.Plotly) return;
    const next = plots.filter(due).sort((a, b) => (now ? a.last - b.last : dueAt(a) - dueAt(b)))[0];
    if (!next) return;
    const t = performance.now();
    if (now || t >= dueAt(next)) {
      sync(next);
      next.last = performance.now();
      lastSync = next.last;
      gap = Math.max(MIN_GAP_MS, 4 * (next.last - t));
      watchZoom();
    }
    schedule();
  }

  /** A flush soon (coalesced): when the most overdue plot may be redrawn, not right after another. */
  function schedule() {
    if (timer || !plots.some(due)) return;
    const when = Math.min(...plots.filter(due).map(dueAt));
    const t = performance.now();
    timer = setTimeout(flush, Math.max(when - t, lastSync + gap / 2 - t, 0));
  }

  /** Plotly's traces catch up now (a mouse about to hover, frames that stopped). */
  function catchUpNow() {
    catchUpTo = curve.length;
    schedule();
  }
  for (const p of plots) p.el.addEventListener('pointerenter', catchUpNow);

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
    /** The cost or accuracy plot as a figure for Plotly.downloadImage: every point of the curve,
     *  its lines drawn, a legend (the page's legend is HTML, outside the plot) and a size of its own. */
    exportFigure(which = 'cost') {
      const [el, look, yaxis, extra] = which === 'cost'
        ? [cost, COST_LOOK, { ...cost.layout?.yaxis }, divergence().traces] : [accuracy, ACCURACY_LOOK, ACCURACY_AXIS, []];
      const base = layout(yaxis, { ...el.layout?.xaxis });
      return {
        data: [...traces(look, true), ...extra].map((t) => ({ ...t, showlegend: t.name !== 'diverged' })),
        layout: { ...base, showlegend: true, width: 900, height: 500, margin: { ...base.margin, t: 40 },
          legend: { orientation: 'h', x: 0, y: 1.02, yanchor: 'bottom', font: { size: 12 } } },
      };
    },
    setKind(k) {
      kind = k;
      accuracyBox.hidden = k === 'regression';
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
      for (const p of plots) paintLines(p);
      schedule(); // Plotly's axes follow in a task of their own, when they must change
      clearTimeout(idleTimer);
      idleTimer = setTimeout(catchUpNow, IDLE_MS);
    },
  };
}
