// OUTPUT: the decision boundary with the train points and, optionally, the dev/test points;
// legend and toggles. Two layers in one box: a canvas with the frame's boundary image
// (boundary-layer.js, repainted every frame) under a Plotly plot with the axes and the points
// (redrawn only for new data, a toggle, presenter mode or a neuron preview; `uirevision` keeps
// the user's zoom, and the image follows the axes). The Plotly plot's first trace is a
// transparent heatmap over the grid, added once the first boundary is painted: its hover events
// name the point under the mouse, whose value the readout shows from the painted grid.
import { h, fmt } from '../dom.js';
import { NEGATIVE, NEUTRAL, POSITIVE, PALETTE, tint, colorTable, divergingTable, cssRgb, diverging, classColor } from '../colors.js';
import { control } from '../widgets.js';
import { plotFont, resizeWithContainer } from '../plots.js';
import { createBoundaryLayer } from './boundary-layer.js';

const PLOT_CONFIG = { displaylogo: false, responsive: true, displayModeBar: 'hover',
  modeBarButtonsToRemove: ['select2d', 'lasso2d', 'autoScale2d', 'toImage'] };

const rgb = (css) => css.match(/\d+/g).map(Number);
const hexRgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
// The background: the diverging scale lightened, so the points stand out on it.
const BACKGROUND = divergingTable(rgb(tint(NEGATIVE, 0.25)), hexRgb(NEUTRAL), rgb(tint(POSITIVE, 0.25)));
const DISCRETE = colorTable((i) => rgb(tint(i < 128 ? NEGATIVE : POSITIVE, 0.25))); // ŷ ≥ 0.5 → class 1
const CLASSES = colorTable((k) => rgb(tint(PALETTE[k % PALETTE.length], 0.55)));

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

/** n points from a to b inclusive (engine/grids.py's grid). */
const linspace = (a, b, n) => Array.from({ length: n }, (_, i) => a + (n > 1 ? (i / (n - 1)) * (b - a) : 0));

/** Fill colour of a point: its class, or for regression its value on the diverging scale, pushed
 *  away from the grey middle (√|t|) so that a dev point's dark outline does not read as hollow. */
function pointColor(kind, y, classes, yScale) {
  if (kind !== 'regression') return classColor(kind, y, classes);
  const t = Math.max(-1, Math.min(1, y / yScale));
  return cssRgb(diverging(Math.sign(t) * Math.sqrt(Math.abs(t))));
}

export function createBoundary(root, store) {
  let data = { kind: 'binary', classes: 2, domain: [-6, 6, -6, 6], train: null, dev: null, test: null };
  let last = null;      // last frame's boundary array
  let preview = null;   // {grid, t, label} of a hovered neuron
  let yScale = 1;       // regression: |y| max, the colour range
  let note = '';        // standing caption (e.g. why there is no boundary)
  let gridShape = null; // [rows, cols] of the hover heatmap in the Plotly layer (null: none yet)
  let plotted = null;   // what the Plotly layer shows (a key): redrawn only when it changes
  // (positioned inline: the canvas fills the plot's box, under it; the readout follows the mouse)
  const canvas = h('canvas', { class: 'boundary-canvas', id: 'boundary-canvas', 'aria-hidden': 'true',
    style: 'position: absolute; inset: 0; width: 100%; height: 100%; pointer-events: none' });
  const plot = h('div', { class: 'boundary-plot', id: 'boundary', role: 'img', 'aria-label': 'Decision boundary with the data points',
    style: 'position: relative' });
  const caption = h('div', { class: 'plot-caption', id: 'boundary-caption', hidden: true });
  const readout = h('div', { class: 'plot-caption tabular', id: 'boundary-readout', hidden: true, style: 'white-space: nowrap' });
  const legend = h('div', { class: 'legend', id: 'boundary-legend' });
  const toggles = h('div', { class: 'toggles' },
    control(store, 'show_test'),
    control(store, 'discretize', { relevant: () => data.kind === 'binary' }));
  root.append(h('div', { class: 'plot-wrap' }, canvas, plot, caption, readout), legend, toggles);
  resizeWithContainer(plot);
  const layer = createBoundaryLayer(canvas, plot);
  const showCaption = (text) => { caption.textContent = text; caption.hidden = !text; };

  let pointTraces = {}; // split -> trace, rebuilt only with new data (same objects = less for Plotly.react)

  function pointsTrace(split, name, outline, symbol) {
    const p = data[split];
    if (!p || !p.x1?.length) return null;
    if (!pointTraces[split]) {
      const colors = p.y.map((y) => pointColor(data.kind, y, data.classes, yScale));
      pointTraces[split] = { type: 'scatter', mode: 'markers', x: p.x1, y: p.x2, name, hoverinfo: 'skip',
        marker: { color: colors, size: 6.5, symbol, line: { color: outline, width: 1.2 } } };
    }
    return pointTraces[split];
  }

  /** Invisible, but its hover events say which grid point is under the mouse (the readout). */
  function hoverTrace() {
    if (!gridShape) return null;
    const [rows, cols] = gridShape;
    const [xmin, xmax, ymin, ymax] = data.domain;
    return { type: 'heatmap', name: 'boundary', x: linspace(xmin, xmax, cols), y: linspace(ymin, ymax, rows),
      z: Array.from({ length: rows }, () => new Array(cols).fill(0)), opacity: 0, showscale: false, hoverinfo: 'none' };
  }

  function layout() {
    const [xmin, xmax, ymin, ymax] = data.domain;
    // Equal units on both axes, unless the spans differ a lot (data.scale, a CSV): a square plot
    // whose tick labels show each axis's own scale then, rather than a thin strip.
    const aspect = (xmax - xmin) / (ymax - ymin);
    const scaleratio = aspect > 3 || aspect < 1 / 3 ? aspect : 1;
    const axis = { showgrid: false, zeroline: false, ticks: 'outside', ticklen: 3, tickcolor: '#b9bec3', linecolor: '#b9bec3', mirror: true, fixedrange: false };
    return {
      uirevision: data.domain.join(), margin: { l: 32, r: 6, t: 6, b: 26 }, showlegend: false, hovermode: 'closest',
      paper_bgcolor: 'rgba(0,0,0,0)', plot_bgcolor: 'rgba(0,0,0,0)', // the boundary layer shows through
      font: plotFont(store),
      xaxis: { ...axis, range: [xmin, xmax], constrain: 'domain' },
      yaxis: { ...axis, range: [ymin, ymax], scaleanchor: 'x', scaleratio, constrain: 'domain' },
    };
  }

  function traces() {
    const showTest = store.get('show_test');
    return [hoverTrace(),
      showTest ? pointsTrace('dev', 'dev', '#1f2328', 'circle') : null,
      showTest ? pointsTrace('test', 'test', '#1f2328', 'diamond') : null,
      preview ? null : pointsTrace('train', 'train', '#ffffff', 'circle')].filter(Boolean);
  }

  /** Redraw the Plotly layer when what it shows changed (never for a frame's new boundary). */
  function plotLayer() {
    if (!window.Plotly) return;
    const key = JSON.stringify([gridShape, data.domain, store.get('show_test'), Boolean(preview), store.get('presenter'), Object.keys(pointTraces).length, note]);
    if (key === plotted) return;
    const first = plotted === null;
    plotted = key;
    window.Plotly.react(plot, traces(), layout(), PLOT_CONFIG);
    if (first) {
      // the image follows the axes: after every Plotly draw (zoom, pan, resize, new data)
      plot.on('plotly_afterplot', layer.render);
      plot.on('plotly_hover', (e) => showReadout(e.points?.[0], e.event));
      plot.on('plotly_unhover', () => { readout.hidden = true; });
    }
  }

  function showReadout(point, event) {
    const v = point && layer.valueAt(point.x, point.y);
    if (v === null || v === undefined || !event) { readout.hidden = true; return; }
    const what = preview ? 'a' : data.kind === 'multiclass' ? 'class' : 'ŷ';
    readout.textContent = `x₁ ${fmt(point.x, 3)} · x₂ ${fmt(point.y, 3)} · ${what} ${data.kind === 'multiclass' && !preview ? Math.round(v) : fmt(v, 3)}`;
    const box = plot.getBoundingClientRect();
    readout.style.left = `${event.clientX - box.left + 12}px`;
    readout.style.top = `${event.clientY - box.top + 12}px`;
    readout.hidden = false;
  }

  /** Paint the network's boundary (or the previewed neuron's output) on the canvas layer. */
  function paint() {
    const domain = data.domain;
    if (preview) {
      const { grid, t } = preview;
      let m = 1e-9;
      for (let i = 0; i < grid.length; i++) m = Math.max(m, Math.abs(grid[i]));
      layer.paint({ data: grid, rows: t, cols: t, lo: -m, hi: m, lut: BACKGROUND, domain });
      canvas.dataset.shows = `neuron ${t}×${t}`;
      return;
    }
    if (!last) { layer.clear(); canvas.dataset.shows = ''; return; }
    const [rows, cols] = last.shape;
    const grid = { data: last.data, rows, cols, domain };
    if (data.kind === 'multiclass') layer.paint({ ...grid, lo: 0, hi: 255, lut: CLASSES });
    else if (data.kind === 'regression') layer.paint({ ...grid, lo: -yScale, hi: yScale, lut: BACKGROUND });
    else if (store.get('discretize')) layer.paint({ ...grid, lo: 0, hi: 1, lut: DISCRETE });
    else layer.paint({ ...grid, lo: 0, hi: 1, lut: BACKGROUND, level: 0.5 });
    canvas.nnGrid = grid; // the network's painted boundary (the browser tests read it)
    canvas.dataset.shows = `boundary ${rows}×${cols}`;
  }

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
    if (changed.some((k) => ['show_test', 'discretize', 'presenter'].includes(k))) {
      renderLegend();
      plotLayer();
      paint();
    }
  });
  renderLegend();

  return {
    plot,
    /** A figure for Plotly.downloadImage: the axes and points with the boundary image under them. */
    exportFigure() {
      const figure = { data: traces().filter((t) => t.type !== 'heatmap'), layout: { ...layout(), plot_bgcolor: NEUTRAL, width: 600, height: 600 } };
      const source = layer.imageUrl();
      if (source) {
        const [xmin, xmax, ymin, ymax] = data.domain;
        figure.layout.images = [{ source, xref: 'x', yref: 'y', x: xmin, y: ymax, sizex: xmax - xmin, sizey: ymax - ymin,
          sizing: 'stretch', layer: 'below' }];
      }
      return figure;
    },
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
      gridShape = null;
      canvas.nnGrid = null;
      pointTraces = {};
      renderLegend();
      plotLayer();
      paint();
    },
    /** A frame: paint its boundary now (the caller draws once per animation frame). */
    update({ arrays }) {
      if (!arrays.boundary) return;
      last = arrays.boundary;
      const shape = last.shape.join();
      if (gridShape?.join() !== shape) { gridShape = last.shape.slice(); plotLayer(); }
      if (!preview) paint();
    },
    /** Show a hidden neuron's output grid instead of the network's (null to go back). */
    preview(p) {
      const toggled = Boolean(p) !== Boolean(preview);
      preview = p;
      showCaption(p ? p.label : note);
      if (toggled) plotLayer(); // the train points step aside while a neuron is shown
      paint();
    },
  };
}
