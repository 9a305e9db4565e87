// The sweep's plots: a scatter of the metric against each sampled hyperparameter (log axes where
// it was sampled on a log scale; 1 − β for β sampled on that scale) and a parallel-coordinates
// plot (plotly `parcoords`) whose brushed ranges ("constraintrange") give the next, narrower
// sweep (`zoomSpace`). Plots are updated in place (Plotly.react, uirevision), at most once a frame.
import { h } from '../dom.js';
import { plotFont, resizeWithContainer } from '../plots.js';
import { SCALE_OF } from './space.js';

const SCALE = [[0, '#f59322'], [0.5, '#e8eaeb'], [1, '#0877bd']]; // worse (orange) ↔ better (blue)
const DIVERGED = '#b3261e';
const METRIC = '#metric';  // the metric's axis among the parameters' (keyed by path)

/** metric 'dev.accuracy' -> {split, key, label, higher, format(value)}. */
export function metricInfo(metric) {
  const [split, key] = metric.split('.');
  const accuracy = key === 'accuracy';
  return {
    split, key, higher: accuracy, label: `${split} ${key}`, log: !accuracy, // costs span decades (a blow-up: 1e80)
    value: (entry) => entry?.[split]?.[key] ?? null,
    format: (x) => (x === null || x === undefined ? '–' : accuracy ? `${(100 * x).toFixed(1)}%` : Number(x.toPrecision(4)).toString()),
  };
}

/** How a parameter is drawn: its scale ('log', 'beta', 'linear', 'int', 'choice'), the value on
 *  the plot's axis (x), back (inverse), and for choices their labels. */
export function axisOf(dist) {
  const [name, values] = Object.entries(dist)[0];
  const scale = SCALE_OF[name];
  const label = (v) => (Array.isArray(v) ? JSON.stringify(v) : String(v));
  if (scale === 'choice') {
    const labels = values.map(label);
    return { scale, values, labels, x: (v) => labels.indexOf(label(v)), inverse: (i) => values[Math.round(i)] };
  }
  if (scale === 'log') return { scale, lo: values[0], hi: values[1], x: Math.log10, inverse: (t) => 10 ** t, log: true };
  if (scale === 'beta') return { scale, lo: values[0], hi: values[1], x: (b) => Math.log10(1 - b), inverse: (t) => 1 - 10 ** t, log: true };
  return { scale, lo: values[0], hi: values[1], x: (v) => v, inverse: (v) => v };
}

/** Tick values and texts at powers of ten within [a, b] (a parcoords axis has no log type). */
function logTicks(a, b, beta) {
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  const vals = [];
  const step = Math.max(1, Math.ceil((hi - lo) / 6)); // at most ~7 ticks
  for (let k = Math.ceil(lo - 1e-9); k <= Math.floor(hi + 1e-9); k += step) vals.push(k);
  if (vals.length < 2) vals.splice(0, vals.length, lo, hi);
  const power = (t) => (t >= -2 && t <= 3 ? String(Number((10 ** t).toPrecision(2))) : `1e${t}`);
  const text = vals.map((t) => (beta ? String(Number((1 - 10 ** t).toPrecision(4))) : power(t)));
  return { tickvals: vals, ticktext: text };
}

export function createPlots({ scatterRoot, parcoordsEl, empty, labelOf, shortOf }) {
  let sweep = null;       // {space: {path: dist}, metric}
  let axes = {};          // path -> axisOf(dist)
  let trials = [];
  let bestTrial = null;
  let brushes = {};       // parameter path (or METRIC) -> [lo, hi] on its axis: the user's selection
  const dimKeys = () => [...Object.keys(axes), METRIC];  // the parcoords dimensions, in order
  let pending = false;
  const scatters = new Map();  // path -> div

  let listening = false;   // the brush listener is on the plot (Plotly.purge removes it)
  resizeWithContainer(parcoordsEl);
  new ResizeObserver(() => arrange()).observe(scatterRoot);

  /** Scatters a row: the count that makes each plot largest at about 1.6 : 1 (4 plots are one row
   *  on a wide, short area and 2 × 2 on a narrower one), none shorter than ~8 lines of type if
   *  that can be helped (the grid scrolls then). */
  function arrange() {
    const n = scatters.size;
    if (!n) { scatterRoot.style.gridTemplateColumns = ''; return; }
    const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 14;
    const W = scatterRoot.clientWidth;
    const H = scatterRoot.clientHeight;
    let cols = 1;
    let score = -Infinity;
    for (let c = 1; c <= n; c++) {
      const w = (W - 8 * (c - 1)) / c;
      const rows = Math.ceil(n / c);
      const hgt = (H - 8 * (rows - 1)) / rows;
      const s = Math.min(w / 1.6, hgt) - (hgt < 8 * rem ? 1e4 : 0) - (w < 11 * rem ? 1e4 : 0);
      if (s > score) { score = s; cols = c; }
    }
    scatterRoot.style.gridTemplateColumns = `repeat(${cols}, minmax(0, 1fr))`;
  }

  function readBrushes() {
    const dims = parcoordsEl.data?.[0]?.dimensions ?? [];
    brushes = {};
    dims.forEach((d, i) => {
      const c = d.constraintrange;
      if (!c || !c.length) return;
      const flat = Array.isArray(c[0]) ? c.flat() : c;
      brushes[dimKeys()[i]] = [Math.min(...flat), Math.max(...flat)];
    });
    api.onBrush?.(Object.keys(brushes).length > 0);
  }

  function reset(next) {
    sweep = next;
    axes = Object.fromEntries(Object.entries(sweep.space).map(([path, dist]) => [path, axisOf(dist)]));
    trials = [];
    bestTrial = null;
    brushes = {};
    api.onBrush?.(false);
    scatters.clear();
    scatterRoot.replaceChildren(...Object.keys(axes).map((path) => {
      const div = h('div', { class: 'scatter-plot', id: `scatter-${path.replace(/\./g, '-')}`, role: 'img',
        'aria-label': `${sweep.metric} against ${labelOf(path)}` });
      scatters.set(path, div);
      return div;
    }));
    for (const div of scatters.values()) resizeWithContainer(div);
    arrange();
    if (window.Plotly) window.Plotly.purge(parcoordsEl);
    listening = false;
    schedule();
  }

  function update(list, best) {
    trials = list;
    bestTrial = best?.trial ?? null;
    schedule();
  }

  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; draw(); });
  }

  /** Every trial's metric on the plots' axis (log10 for a cost): `t` (null: none or diverged), `y`
   *  where it is drawn (a diverged trial or one without the metric at the worst end, below the
   *  lowest accuracy or above the highest cost) and the axis `range`, in the same units. */
  function metricAxis(metric) {
    const tf = (v) => (metric.log ? Math.log10(Math.max(v, 1e-12)) : v);
    const t = trials.map((e) => {
      const v = metric.value(e);
      return e.status === 'diverged' || v === null || !Number.isFinite(v) ? null : tf(v);
    });
    const finite = t.filter((v) => v !== null);
    const lo = finite.length ? Math.min(...finite) : 0;
    // a cost axis spans at most 6 decades above the best: a blown-up run (1e260) would flatten the rest
    const hi = finite.length ? Math.min(Math.max(...finite), metric.log ? lo + 6 : Infinity) : 1;
    const pad = (hi - lo || Math.abs(hi) || 1) * 0.08;
    const worst = metric.higher ? lo - pad : hi + pad;
    return { t, y: t.map((v) => (v === null ? worst : Math.min(v, hi))), worst,
      range: [lo - (metric.higher ? 2 : 1) * pad, hi + (metric.higher ? 1 : 2) * pad] };
  }

  function draw() {
    if (!sweep || !window.Plotly) return;
    empty.hidden = trials.length > 0;
    const metric = metricInfo(sweep.metric);
    const font = plotFont();
    const m = metricAxis(metric);
    const real = (v) => (metric.log ? 10 ** v : v);
    const color = { colorscale: SCALE, reversescale: !metric.higher, cmin: m.range[0], cmax: m.range[1] };
    const good = trials.map((_, i) => i).filter((i) => m.t[i] !== null);
    const bad = trials.map((_, i) => i).filter((i) => m.t[i] === null);
    const best = trials.findIndex((e) => e.trial === bestTrial);
    for (const [path, div] of scatters) {
      const ax = axes[path];
      const xs = trials.map((e) => (ax.scale === 'beta' ? 1 - e.params[path] : ax.scale === 'choice' ? ax.labels[ax.x(e.params[path])] : e.params[path]));
      const data = [
        { type: 'scatter', mode: 'markers', cliponaxis: false, x: good.map((i) => xs[i]), y: good.map((i) => real(m.y[i])), hoverinfo: 'x+text',
          text: good.map((i) => `trial ${trials[i].trial} · ${metric.format(metric.value(trials[i]))}`),
          marker: { size: 8, color: good.map((i) => m.y[i]), ...color, line: { color: '#ffffff', width: 1 } }, name: 'trials' },
        { type: 'scatter', mode: 'markers', cliponaxis: false, x: bad.map((i) => xs[i]), y: bad.map(() => real(m.worst)), hoverinfo: 'x+text',
          text: bad.map((i) => `trial ${trials[i].trial} · ${trials[i].status === 'diverged' ? 'diverged' : 'no metric'}`),
          marker: { symbol: 'x', size: 8, color: DIVERGED }, name: 'diverged' },
        { type: 'scatter', mode: 'markers', cliponaxis: false, x: best >= 0 ? [xs[best]] : [], y: best >= 0 ? [real(m.y[best])] : [], hoverinfo: 'skip',
          marker: { size: 15, color: 'rgba(0,0,0,0)', line: { color: '#1f2328', width: 2 } }, name: 'best' },
      ];
      const xaxis = { title: { text: ax.scale === 'beta' ? `1 − ${labelOf(path)}` : labelOf(path), standoff: 4 }, zeroline: false,
        automargin: true, gridcolor: '#eceff2', type: ax.log ? 'log' : ax.scale === 'choice' ? 'category' : 'linear',
        ...(ax.scale === 'choice' && { categoryorder: 'array', categoryarray: ax.labels }),
        ...(ax.log && { exponentformat: 'power', dtick: 1 }) };
      const yaxis = { title: { text: metric.label, standoff: 2 }, range: m.range, zeroline: false, gridcolor: '#eceff2', automargin: true,
        type: metric.log ? 'log' : 'linear', ...(metric.log ? { exponentformat: 'power' } : { tickformat: '.0%' }) };
      // room for the tick labels and the axis title, in the type's size (automargin alone lags a resize)
      const layout = { margin: { l: Math.round(4.6 * font.size), r: 12, t: 12, b: Math.round(3.6 * font.size) }, font, showlegend: false, uirevision: path,
        paper_bgcolor: 'rgba(0,0,0,0)', plot_bgcolor: '#ffffff', xaxis, yaxis };
      window.Plotly.react(div, data, layout, { displayModeBar: false, responsive: false });
    }
    drawParcoords(metric, m, font);
  }

  function drawParcoords(metric, m, font) {
    // an axis' name in full where it fits between its neighbours, else its short name (α, λ, n[1])
    const room = (parcoordsEl.clientWidth || 600) / (Object.keys(axes).length + 1);
    const fits = Object.keys(axes).every((path) => labelOf(path).length * font.size * 0.6 < room * 0.92);
    const name = (path) => (fits ? labelOf(path) : shortOf(path));
    const dims = Object.entries(axes).map(([path, ax]) => {
      const label = name(path);
      const dim = { label, values: trials.map((t) => ax.x(t.params[path])) };
      if (ax.scale === 'choice') Object.assign(dim, { range: [0, Math.max(ax.labels.length - 1, 1)], tickvals: ax.labels.map((_, i) => i), ticktext: ax.labels });
      else if (ax.log) Object.assign(dim, { range: [ax.x(ax.lo), ax.x(ax.hi)].sort((a, b) => a - b) }, logTicks(ax.x(ax.lo), ax.x(ax.hi), ax.scale === 'beta'));
      else dim.range = [ax.lo, ax.hi];
      if (brushes[path]) dim.constraintrange = brushes[path];
      return dim;
    });
    const ends = [Math.min(m.worst, ...m.y), Math.max(m.worst, ...m.y)];
    const mdim = { label: metric.label, values: m.y, range: ends[1] > ends[0] ? ends : [ends[0] - 0.5, ends[0] + 0.5] };
    if (metric.log) Object.assign(mdim, logTicks(mdim.range[0], mdim.range[1], false));
    else mdim.tickformat = '.0%';
    if (brushes[METRIC]) mdim.constraintrange = brushes[METRIC];
    const data = [{ type: 'parcoords', dimensions: [...dims, mdim],
      line: { color: m.y, colorscale: SCALE, reversescale: !metric.higher, cmin: m.range[0], cmax: m.range[1] },
      labelfont: { ...font, size: font.size * 1.05 }, tickfont: font, rangefont: font, labelangle: 0 }];
    const f = font.size;  // the labels above the axes and the range texts below them scale with the type
    const layout = { margin: { l: Math.round(4.6 * f), r: Math.round(3.6 * f), t: Math.round(3.3 * f), b: Math.round(2 * f) },
      font, paper_bgcolor: 'rgba(0,0,0,0)', uirevision: 'parcoords' };
    window.Plotly.react(parcoordsEl, data, layout, { displayModeBar: false, responsive: false });
    if (!listening) { parcoordsEl.on('plotly_restyle', readBrushes); listening = true; }
  }

  /** The next sweep's space, narrowed to the brushed ranges (coarse to fine): a brushed axis
   *  keeps its selection; with the metric brushed, the others shrink to the span of the trials
   *  selected. null without a brush. */
  function zoomSpace() {
    if (!sweep || !Object.keys(brushes).length) return null;
    const metric = metricInfo(sweep.metric);
    const m = metricAxis(metric);
    const inside = (key, v) => !brushes[key] || (v >= brushes[key][0] - 1e-12 && v <= brushes[key][1] + 1e-12);
    const selected = trials.filter((t, i) => m.t[i] !== null && inside(METRIC, m.y[i])
      && Object.entries(axes).every(([path, ax]) => inside(path, ax.x(t.params[path]))));
    const byMetric = Boolean(brushes[METRIC]) && selected.length >= 2;
    const space = {};
    for (const [path, ax] of Object.entries(axes)) {
      const brush = brushes[path];
      const dist = sweep.space[path];
      const name = Object.keys(dist)[0];
      if (ax.scale === 'choice') {
        const keep = ax.values.filter((v, i) => (brush ? i >= brush[0] - 1e-9 && i <= brush[1] + 1e-9 : true)
          && (!byMetric || selected.some((t) => ax.labels[ax.x(t.params[path])] === ax.labels[i])));
        space[path] = { choice: keep.length ? keep : ax.values };
        continue;
      }
      let [a, b] = [ax.lo, ax.hi];
      if (brush) {
        const ends = [ax.inverse(brush[0]), ax.inverse(brush[1])].sort((p, q) => p - q);
        [a, b] = [Math.max(a, ends[0]), Math.min(b, ends[1])];
      } else if (byMetric) {
        const vs = selected.map((t) => t.params[path]);
        [a, b] = [Math.min(...vs), Math.max(...vs)];
      }
      if (ax.scale === 'int') [a, b] = [Math.ceil(a - 1e-9), Math.floor(b + 1e-9)];
      if (!(a < b)) [a, b] = [ax.lo, ax.hi]; // nothing left to narrow to: keep the range
      space[path] = { [name]: [a, b] };
    }
    return space;
  }

  const api = { reset, update, zoomSpace, redraw: schedule, onBrush: null };
  return api;
}
