// Convergence chart: J − J* (log scale) against the step, one line per optimizer with every step
// (the frames' `costs`: J at each new point of the path; the full-batch twin's `batch_costs` dotted)
// and the tolerance as a dashed line. Plotly draws the axes, only again when the ranges must grow;
// the lines are drawn on a canvas over them (paint.js), only their new segments per frame.
import { h } from '../dom.js';
import { requestPaint, plotOverlay, resizeWithBox } from './paint.js';

const FLOOR = 1e-16; // J − J* below this is drawn at the floor (log axis)
const ABOVE_START = 3; // decades shown above the highest starting gap (a diverging racer leaves the top)

/** The smallest of 10, 20, 50, 100, 200, 500, … that is ≥ n. */
function niceUp(n) {
  let p = 10;
  for (;;) {
    for (const m of [1, 2, 5]) if (m * p >= n) return m * p;
    p *= 10;
  }
}

export function createConvergence(root, plotStyle) {
  const plot = h('div', { class: 'lab-convergence', id: 'convergence-plot', role: 'img', 'aria-label': 'Cost gap J − J* against the step for each optimizer' });
  root.append(h('h3', {}, 'Gap to the minimum J − J* against the step'), plot);
  let series = [];      // [{id, name, color, x, y, bx, by, drawn, bdrawn}]
  let minCost = 0;
  let tolerance = null;
  let minibatch = false;
  let ranges = null;    // {x: [0, n], y: [lo, hi] (log10)}
  let full = true;
  let plotted = false;
  const lines = plotOverlay(plot, { className: 'plot-overlay convergence-lines' });
  resizeWithBox(plot);

  const gap = (cost) => Math.max(cost - minCost, FLOOR);

  /** Lowest and highest gap of a series' points (kept up to date as they come: `seen` points). */
  function extent(s) {
    if (s.seen > s.y.length + s.by.length) { s.lo = Infinity; s.hi = -Infinity; s.seen = 0; s.ys = 0; s.bys = 0; }
    for (; s.ys < s.y.length; s.ys += 1) { const v = s.y[s.ys]; if (v < s.lo) s.lo = v; if (v > s.hi) s.hi = v; }
    for (; s.bys < s.by.length; s.bys += 1) { const v = s.by[s.bys]; if (v < s.lo) s.lo = v; if (v > s.hi) s.hi = v; }
    s.seen = s.ys + s.bys;
  }

  function wanted() {
    let n = 0; let lo = Infinity; let hi = -Infinity; let start = -Infinity;
    for (const s of series) {
      n = Math.max(n, s.x.length ? s.x[s.x.length - 1] : 0, s.bx.length ? s.bx[s.bx.length - 1] : 0);
      for (const ys of [s.y, s.by]) if (ys.length) start = Math.max(start, ys[0]);
      extent(s);
      lo = Math.min(lo, s.lo); hi = Math.max(hi, s.hi);
    }
    if (!Number.isFinite(lo)) return { x: [0, 10], y: [-4, 1] };
    const top = Math.ceil(Math.log10(start) + 1e-9);
    const y = [Math.floor(Math.log10(lo) - 1e-9), Math.min(Math.ceil(Math.log10(hi) + 1e-9), top + ABOVE_START)];
    if (tolerance) y[0] = Math.min(y[0], Math.floor(Math.log10(tolerance)));
    if (y[1] - y[0] < 2) y[0] = y[1] - 2;
    return { x: [0, niceUp(n)], y };
  }

  function axes() {
    if (!window.Plotly) { ranges = null; return; }
    const big = plotStyle.font.size > 12;
    Plotly.react(plot, [{ type: 'scatter', mode: 'lines', x: [], y: [], hoverinfo: 'skip' }], {
      ...plotStyle, showlegend: false, margin: { l: big ? 68 : 52, r: 8, t: 6, b: big ? 30 : 22 }, hovermode: false,
      xaxis: { ...plotStyle.xaxis, range: ranges.x, ticksuffix: ' ', fixedrange: true },
      yaxis: { ...plotStyle.yaxis, type: 'log', range: ranges.y, exponentformat: 'power', fixedrange: true },
    }, { displaylogo: false, responsive: true, displayModeBar: false, staticPlot: false });
    if (!plotted) {
      plotted = true;
      plot.on('plotly_afterplot', () => { full = true; requestPaint(paint); });
    }
  }

  function line(P, xs, ys, from, color, dash) {
    if (xs.length < 1 || from >= xs.length) return;
    const { ctx } = P;
    ctx.save();
    ctx.strokeStyle = color;
    ctx.lineWidth = dash ? 1.5 : 2;
    ctx.lineJoin = 'round';
    if (dash) ctx.setLineDash(dash);
    ctx.beginPath();
    const k = Math.max(0, from - 1);
    ctx.moveTo(P.x(xs[k]), P.y(ys[k]));
    if (xs.length === 1) ctx.lineTo(P.x(xs[0]) + 1, P.y(ys[0]));
    for (let i = k + 1; i < xs.length; i += 1) ctx.lineTo(P.x(xs[i]), P.y(ys[i]));
    ctx.stroke();
    ctx.restore();
  }

  function paint() {
    const want = wanted();
    if (!ranges || want.x[1] !== ranges.x[1] || want.y[0] !== ranges.y[0] || want.y[1] !== ranges.y[1]) {
      ranges = want;
      axes(); // afterplot paints again, from scratch
      return;
    }
    const P = lines.frame({ clear: full });
    if (!P) return;
    if (full || P.resized) {
      if (!full) P.ctx.clearRect(0, 0, P.w, P.h);
      full = false;
      for (const s of series) { s.drawn = 0; s.bdrawn = 0; }
      if (tolerance) {
        const y = P.y(tolerance);
        P.ctx.save();
        P.ctx.strokeStyle = 'rgba(31, 35, 40, 0.45)'; P.ctx.lineWidth = 1; P.ctx.setLineDash([4, 4]);
        P.ctx.beginPath(); P.ctx.moveTo(0, y); P.ctx.lineTo(P.w, y); P.ctx.stroke();
        P.ctx.restore();
      }
    }
    for (const s of series) {
      if (minibatch) line(P, s.bx, s.by, s.bdrawn, s.color, [2, 3]);
      s.bdrawn = s.bx.length;
      line(P, s.x, s.y, s.drawn, s.color, null);
      s.drawn = s.x.length;
    }
  }

  /** Replace `s[xk]`/`s[yk]` from step index `from` on with one point per cost. */
  function splice(s, xk, yk, dk, from, costs) {
    let cut = s[xk].length;
    while (cut > 0 && s[xk][cut - 1] >= from) cut -= 1;
    if (cut < s[xk].length) { s[xk].length = cut; s[yk].length = cut; s.seen = Infinity; if (cut < s[dk]) full = true; }
    costs.forEach((c, j) => { s[xk].push(from + j); s[yk].push(gap(c)); });
  }

  return {
    setRacers(optimizers, names, surface = null) {
      if (surface) { minCost = surface.min_cost ?? 0; tolerance = surface.tolerance ?? null; minibatch = Boolean(surface.minibatch); }
      series = optimizers.map((o) => ({ id: o.id, name: names[o.id], color: o.color, x: [], y: [], bx: [], by: [], drawn: 0, bdrawn: 0,
        lo: Infinity, hi: -Infinity, seen: 0, ys: 0, bys: 0 }));
      full = true;
      requestPaint(paint);
    },
    frame(msg) {
      for (const p of msg.paths) {
        const s = series.find((x) => x.id === p.id);
        if (!s) continue;
        if (Array.isArray(p.costs)) {
          splice(s, 'x', 'y', 'drawn', p.points_from ?? s.x.length, p.costs);
        } else { // an older server: the current cost only, once per frame
          if (p.points_from === 0) { s.x = []; s.y = []; s.seen = Infinity; full = true; }
          if (!(s.x.length && s.x[s.x.length - 1] === p.steps)) { s.x.push(p.steps); s.y.push(Math.max(p.gap, FLOOR)); }
        }
        if (Array.isArray(p.batch_costs)) splice(s, 'bx', 'by', 'bdrawn', p.batch_points_from ?? s.bx.length, p.batch_costs);
      }
      requestPaint(paint);
    },
    /** Plot the axes again (presenter mode changed the type size). */
    restyle() { ranges = null; requestPaint(paint); },
    /** Points per racer (tests: one per step). */
    counts() { return Object.fromEntries(series.map((s) => [s.id, s.x.length])); },
  };
}
