// The race plot: a contour of the cost surface (log-spaced levels, grid from the server's `surface`
// message) with every optimizer's path streamed in its colour, its current position, the start
// point (click the plot to move it) and the minimum. Frames only carry new points; they are
// buffered and drawn once per animation frame.
import { fmt } from '../dom.js';

const CONTOUR_SCALE = [[0, '#fdfefe'], [0.35, '#e4edf3'], [0.7, '#c3d3df'], [1, '#93a9ba']];
const AXIS = { zeroline: false, showgrid: false, ticks: 'outside', ticklen: 4, tickcolor: '#9aa5ae',
  linecolor: '#9aa5ae', mirror: true, color: '#3d4650', title: { standoff: 6 } };
const FONT = { family: getComputedStyle(document.body).fontFamily, size: 12, color: '#3d4650' };

export function createRace(el, { onStart }) {
  let surface = null;
  let racers = [];       // [{id, name, color, x, y, bx, by, head}]
  let revision = 0;
  let pending = false;
  let drawn = false;

  function contourTrace(s) {
    // levels are absolute costs J* + geometric offsets: contour log10(J − J*) evenly instead
    const floor = Math.max(s.levels[0] - s.min_cost, 1e-12);
    const top = Math.log10(Math.max(s.levels[s.levels.length - 1] - s.min_cost, 2 * floor));
    const bottom = Math.log10(floor);
    const z = s.z.map((row) => row.map((v) => Math.log10(Math.max(v - s.min_cost, floor))));
    const text = s.z.map((row) => row.map((v) => fmt(v, 4)));
    return {
      type: 'contour', x: s.x, y: s.y, z, text, showscale: false, colorscale: CONTOUR_SCALE,
      zmin: bottom, zmax: top, autocontour: false, ncontours: 22,
      // the first line sits one level above the floor: no ragged line where J − J* is clipped
      contours: { start: bottom + (top - bottom) / 21, end: top, size: (top - bottom) / 21, coloring: 'fill', showlines: true },
      line: { color: 'rgba(60, 80, 100, 0.28)', width: 0.8, smoothing: 0.6 },
      hovertemplate: 'w₁ %{x:.4g}<br>w₂ %{y:.4g}<br>J %{text}<extra></extra>',
    };
  }

  function traces() {
    const data = [contourTrace(surface), {
      type: 'scatter', mode: 'markers', x: [surface.minimum[0]], y: [surface.minimum[1]], name: 'minimum',
      marker: { symbol: 'x-thin', size: 12, line: { width: 2.5, color: '#1f2328' } }, hovertemplate: 'minimum J* = %{text}<extra></extra>',
      text: [fmt(surface.min_cost, 5)],
    }, {
      type: 'scatter', mode: 'markers', x: [surface.startPoint[0]], y: [surface.startPoint[1]], name: 'start',
      marker: { symbol: 'star', size: 15, color: '#1f2328', line: { width: 1.5, color: '#fff' } }, hoverinfo: 'skip',
    }];
    for (const r of racers) {
      data.push({
        type: 'scatter', mode: 'lines', x: r.bx, y: r.by, name: `${r.name} (full batch)`, visible: surface.minibatch,
        line: { color: r.color, width: 1.6, dash: 'dot' }, opacity: 0.85, hoverinfo: 'skip',
      }, {
        type: 'scatter', mode: r.x.length > 400 ? 'lines' : 'lines+markers', x: r.x, y: r.y, name: r.name,
        line: { color: r.color, width: 2.2 }, marker: { color: r.color, size: 3.5 },
        hovertemplate: `${r.name}<br>w₁ %{x:.4g}<br>w₂ %{y:.4g}<extra></extra>`,
      }, {
        type: 'scatter', mode: 'markers', x: r.x.slice(-1), y: r.y.slice(-1), name: `${r.name} now`,
        marker: { size: 12, color: r.color, line: { width: 2, color: '#fff' }, symbol: r.diverged ? 'x' : 'circle' },
        hovertemplate: `${r.name}: J = ${fmt(r.cost, 4)}<extra></extra>`,
      });
    }
    return data;
  }

  function layout() {
    const [xmin, xmax, ymin, ymax] = surface.domain;
    return {
      margin: { l: 56, r: 14, t: 10, b: 44 }, paper_bgcolor: 'rgba(0,0,0,0)', plot_bgcolor: '#fff',
      font: FONT, showlegend: false, hovermode: 'closest', dragmode: 'zoom',
      uirevision: `${surface.name}:${JSON.stringify(surface.params)}`, datarevision: revision,
      xaxis: { ...AXIS, range: [xmin, xmax], title: { text: 'w₁', standoff: 4 }, exponentformat: 'power', constrain: 'domain' },
      // same scale on both axes (true angles and shapes), except for the logistic surface whose
      // w₁ range is ~1000× narrower than w₂'s when the inputs are not normalized
      yaxis: { ...AXIS, range: [ymin, ymax], title: { text: 'w₂', standoff: 4 }, exponentformat: 'power',
        ...(surface.name === 'logistic' ? {} : { scaleanchor: 'x', scaleratio: 1, constrain: 'domain' }) },
    };
  }

  function draw() {
    pending = false;
    if (!surface || !window.Plotly) return;
    revision += 1;
    Plotly.react(el, traces(), layout(), { displaylogo: false, responsive: true,
      modeBarButtonsToRemove: ['select2d', 'lasso2d', 'autoScale2d', 'toImage'], doubleClick: 'reset' });
    if (!drawn) {
      drawn = true;
      el.on('plotly_click', (event) => {
        const p = toData(event.event) ?? [event.points?.[0]?.x, event.points?.[0]?.y];
        if (p.every(Number.isFinite)) onStart(p);
      });
    }
  }

  /** Data coordinates of a mouse event over the plot area (null if outside it). */
  function toData(mouse) {
    const full = el._fullLayout;
    const area = el.querySelector('.nsewdrag');
    if (!full || !area || !mouse) return null;
    const box = area.getBoundingClientRect();
    const px = mouse.clientX - box.left;
    const py = mouse.clientY - box.top;
    if (px < 0 || py < 0 || px > box.width || py > box.height) return null;
    return [full.xaxis.p2c(px), full.yaxis.p2c(py)];
  }

  function schedule() {
    if (!pending) { pending = true; requestAnimationFrame(draw); }
  }

  return {
    /** A new surface: new grid, empty paths (they come back with the next frame). */
    setSurface(msg, start, optimizers, names) {
      surface = { ...msg, startPoint: start ?? msg.start };
      this.setRacers(optimizers, names);
    },
    setRacers(optimizers, names) {
      const old = Object.fromEntries(racers.map((r) => [r.id, r]));
      racers = optimizers.map((o) => ({ x: [], y: [], bx: [], by: [], cost: null, ...(old[o.id] || {}), id: o.id, name: names[o.id], color: o.color }));
      schedule();
    },
    setStart(start) {
      if (surface) { surface.startPoint = start; schedule(); }
    },
    /** Append (or, from index 0, replace) each path's points. */
    frame(msg) {
      for (const p of msg.paths) {
        const r = racers.find((x) => x.id === p.id);
        if (!r) continue;
        if (p.points_from === 0) { r.x = []; r.y = []; }
        for (const [x, y] of p.points) { r.x.push(x); r.y.push(y); }
        if (p.batch_points) {
          if (p.batch_points_from === 0) { r.bx = []; r.by = []; }
          for (const [x, y] of p.batch_points) { r.bx.push(x); r.by.push(y); }
        }
        r.cost = p.cost;
        r.diverged = p.status === 'diverged';
      }
      if (surface && msg.paths[0]?.points_from === 0) surface.startPoint = [msg.paths[0].points[0][0], msg.paths[0].points[0][1]];
      schedule();
    },
    /** Points drawn per racer (tests and the results table read it). */
    counts() { return Object.fromEntries(racers.map((r) => [r.id, r.x.length])); },
    get surface() { return surface; },
  };
}
