// OUTPUT: the decision boundary (Plotly heatmap of the frame's `boundary` grid, at most one
// contour line) with the train points and, optionally, the dev/test points; legend and toggles.
// Updated in place with Plotly.react; `uirevision` keeps the user's zoom.
import { h } from '../dom.js';
import { NEGATIVE, NEUTRAL, POSITIVE, PALETTE, tint, classColor } from '../colors.js';
import { control } from '../widgets.js';
import { plotFont, resizeWithContainer, throttled } from '../plots.js';

const BACKGROUND = [[0, tint(NEGATIVE, 0.25)], [0.5, NEUTRAL], [1, tint(POSITIVE, 0.25)]];
const PLOT_CONFIG = { displaylogo: false, responsive: true, displayModeBar: 'hover',
  modeBarButtonsToRemove: ['select2d', 'lasso2d', 'autoScale2d', 'toImage'] };

/** [xmin, xmax, ymin, ymax] around the points, with a 5 % margin. */
function extentOf(p) {
  const ext = (v) => {
    const lo = Math.min(...v);
    const hi = Math.max(...v);
    const pad = 0.05 * (hi - lo || 1);
    return [lo - pad, hi + pad];
  };
  return p?.x1?.length ? [...ext(p.x1), ...ext(p.x2)] : [-6, 6, -6, 6];
}

const linspace = (a, b, n) => Array.from({ length: n }, (_, i) => a + ((i + 0.5) / n) * (b - a));

/** Rows of a (rows, cols) Float32Array as nested arrays (Plotly's z). */
function rowsOf(data, rows, cols, map = null) {
  const z = new Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = Array.from(data.subarray(r * cols, (r + 1) * cols));
    z[r] = map ? row.map(map) : row;
  }
  return z;
}

/** Discrete Plotly colorscale: class k -> a light tint of palette colour k. */
function classScale(classes) {
  const scale = [];
  for (let k = 0; k < classes; k++) {
    const c = tint(PALETTE[k % PALETTE.length], 0.55);
    scale.push([k / classes, c], [(k + 1) / classes, c]);
  }
  return scale;
}

export function createBoundary(root, store) {
  let data = { kind: 'binary', classes: 2, domain: [-6, 6, -6, 6], train: null, dev: null, test: null };
  let last = null;      // last frame's boundary array
  let preview = null;   // {grid, t, label} of a hovered neuron
  let yScale = 1;       // regression: |y| max, the colour range
  let note = '';        // standing caption (e.g. why there is no boundary)
  const plot = h('div', { class: 'boundary-plot', id: 'boundary', role: 'img', 'aria-label': 'Decision boundary with the data points' });
  const caption = h('div', { class: 'plot-caption', id: 'boundary-caption', hidden: true });
  const legend = h('div', { class: 'legend', id: 'boundary-legend' });
  const toggles = h('div', { class: 'toggles' },
    control(store, 'show_test'),
    control(store, 'discretize', { relevant: () => data.kind === 'binary' }));
  root.append(h('div', { class: 'plot-wrap' }, plot, caption), legend, toggles);
  resizeWithContainer(plot);
  const showCaption = (text) => { caption.textContent = text; caption.hidden = !text; };


  let pointTraces = {}; // split -> trace, rebuilt only with new data (same objects = less for Plotly.react)

  function pointsTrace(split, name, outline, symbol) {
    const p = data[split];
    if (!p || !p.x1?.length) return null;
    if (!pointTraces[split]) {
      const colors = p.y.map((y) => classColor(data.kind, data.kind === 'regression' ? y / yScale : y, data.classes));
      pointTraces[split] = { type: 'scatter', mode: 'markers', x: p.x1, y: p.x2, name, hoverinfo: 'skip',
        marker: { color: colors, size: 6.5, symbol, line: { color: outline, width: 1.2 } } };
    }
    return pointTraces[split];
  }

  function heatmap() {
    const [xmin, xmax, ymin, ymax] = data.domain;
    if (preview) {
      const { grid, t } = preview;
      let m = 1e-9;
      for (const v of grid) m = Math.max(m, Math.abs(v));
      return [{ type: 'heatmap', x: linspace(xmin, xmax, t), y: linspace(ymin, ymax, t), z: rowsOf(grid, t, t),
        colorscale: BACKGROUND, zmin: -m, zmax: m, showscale: false, zsmooth: 'best', hoverinfo: 'skip' }];
    }
    if (!last) return [];
    const [rows, cols] = last.shape;
    const x = linspace(xmin, xmax, cols);
    const y = linspace(ymin, ymax, rows);
    const base = { type: 'heatmap', x, y, showscale: false, zsmooth: false,
      hovertemplate: 'x₁ %{x:.2f}<br>x₂ %{y:.2f}<br>ŷ %{z:.3f}<extra></extra>' };
    if (data.kind === 'multiclass') {
      return [{ ...base, z: rowsOf(last.data, rows, cols), colorscale: classScale(data.classes), zmin: -0.5, zmax: data.classes - 0.5,
        hovertemplate: 'x₁ %{x:.2f}<br>x₂ %{y:.2f}<br>class %{z}<extra></extra>' }];
    }
    if (data.kind === 'regression') {
      return [{ ...base, z: rowsOf(last.data, rows, cols), colorscale: BACKGROUND, zmin: -yScale, zmax: yScale }];
    }
    const discrete = store.get('discretize');
    const z = rowsOf(last.data, rows, cols, discrete ? (v) => (v >= 0.5 ? 1 : 0) : null);
    const traces = [{ ...base, z, colorscale: BACKGROUND, zmin: 0, zmax: 1 }];
    if (!discrete) {
      traces.push({ type: 'contour', x, y, z, showscale: false, hoverinfo: 'skip', autocontour: false,
        contours: { start: 0.5, end: 0.5, size: 1, coloring: 'none' }, line: { color: '#4a5056', width: 1.5 } });
    }
    return traces;
  }

  function draw() {
    if (!window.Plotly) return;
    const showTest = store.get('show_test');
    const traces = [...heatmap(),
      showTest ? pointsTrace('dev', 'dev', '#1f2328', 'circle') : null,
      showTest ? pointsTrace('test', 'test', '#1f2328', 'diamond') : null,
      preview ? null : pointsTrace('train', 'train', '#ffffff', 'circle')].filter(Boolean);
    const [xmin, xmax, ymin, ymax] = data.domain;
    // Equal units on both axes, unless the spans differ a lot (data.scale, a CSV): a square plot
    // whose tick labels show each axis's own scale then, rather than a thin strip.
    const aspect = (xmax - xmin) / (ymax - ymin);
    const scaleratio = aspect > 3 || aspect < 1 / 3 ? aspect : 1;
    const axis = { showgrid: false, zeroline: false, ticks: 'outside', ticklen: 3, tickcolor: '#b9bec3', linecolor: '#b9bec3', mirror: true, fixedrange: false };
    const layout = {
      uirevision: data.domain.join(), margin: { l: 32, r: 6, t: 6, b: 26 }, showlegend: false,
      paper_bgcolor: 'rgba(0,0,0,0)', plot_bgcolor: NEUTRAL,
      font: plotFont(store),
      xaxis: { ...axis, range: [xmin, xmax], constrain: 'domain' },
      yaxis: { ...axis, range: [ymin, ymax], scaleanchor: 'x', scaleratio, constrain: 'domain' },
    };
    window.Plotly.react(plot, traces, layout, PLOT_CONFIG);
  }

  // Frames may come faster than a heatmap can be drawn: draw the newest, as often as it keeps up.
  const redraw = throttled(draw, 40);

  function renderLegend() {
    const item = (swatch, text) => h('span', { class: 'legend-item' }, swatch, text);
    const dot = (color, cls = '') => h('span', { class: `swatch ${cls}`, style: `--swatch: ${color}` });
    const items = [];
    if (data.kind === 'multiclass') {
      for (let k = 0; k < data.classes; k++) items.push(item(dot(PALETTE[k % PALETTE.length]), `class ${k}`));
    } else if (data.kind === 'regression') {
      items.push(item(h('span', { class: 'scale-bar' }), `−${yScale.toFixed(1)} … +${yScale.toFixed(1)}`));
    } else {
      items.push(item(dot(NEGATIVE), 'class 0'), item(dot(POSITIVE), 'class 1'));
    }
    items.push(item(dot('#9aa0a6', 'train'), 'train'));
    if (store.get('show_test')) items.push(item(dot('#9aa0a6', 'dev'), 'dev'), item(dot('#9aa0a6', 'test'), 'test'));
    legend.replaceChildren(...items);
  }

  store.subscribe((changed) => {
    if (changed.some((k) => ['show_test', 'discretize', 'presenter'].includes(k))) { renderLegend(); redraw(); }
  });
  renderLegend();

  return {
    plot,
    /** The server's data description (state message). */
    setData(d) {
      if (!d) return;
      // A CSV with more than two inputs has no 2-D domain: plot its x1, x2 and say why there is no boundary.
      const noGrid = d.domain == null;
      data = { ...data, ...d, domain: d.domain ?? extentOf(d.train) };
      note = noGrid ? 'No decision boundary: the inputs are not 2-D (showing x₁, x₂)' : '';
      showCaption(note);
      if (data.kind === 'regression' && data.train?.y?.length) yScale = Math.max(1e-9, ...data.train.y.map(Math.abs));
      last = null;
      pointTraces = {};
      renderLegend();
      draw();
    },
    update({ arrays }) {
      if (!arrays.boundary) return;
      last = arrays.boundary;
      if (!preview) redraw();
    },
    /** Show a hidden neuron's output grid instead of the network's (null to go back). */
    preview(p) {
      preview = p;
      showCaption(p ? p.label : note);
      redraw();
    },
  };
}
