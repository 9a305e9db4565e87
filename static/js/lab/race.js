// The race plot: the contour plot of the cost surface (log-spaced levels, grid from the server's
// `surface` message), drawn by Plotly once per surface, and on two canvases over it (paint.js):
// every optimizer's path in its colour, the eigen-axes of the minimum and a faint ghost of the
// previous run below; the current positions, the start ★ (click the plot to move it) and the
// minimum ✕ above. Frames only carry new points: the path canvas draws only the new segments,
// the marker canvas is redrawn, at most once per animation frame.
import { fmt } from '../dom.js';
import { requestPaint, plotOverlay, resizeWithBox } from './paint.js';

const CONTOUR_SCALE = [[0, '#fdfefe'], [0.35, '#e4edf3'], [0.7, '#c3d3df'], [1, '#93a9ba']];
const AXIS = { zeroline: false, showgrid: false, ticks: 'outside', ticklen: 4, tickcolor: '#9aa5ae',
  linecolor: '#9aa5ae', mirror: true, color: '#3d4650', title: { standoff: 6 } };
const FONT = { family: getComputedStyle(document.body).fontFamily, size: 12, color: '#3d4650' };
const CONTOURS = 20;     // lines between the innermost resolvable level and the top one
const MIN_WIDTH = 2.5;   // grid cells across the innermost contour (narrower ones break into dashes)
const DOTS_UP_TO = 400;  // a path shows its points as dots while it has at most this many
const INK = '#1f2328';

/** Where the contour lines go (log10 of J − J*): `CONTOURS` evenly spaced levels from the lowest
 *  one whose region {J − J* < level} is at least MIN_WIDTH grid cells across, up to the top level:
 *  at κ ≥ 100 a thinner inner ellipse would break into dashes on the grid. A region's width is
 *  estimated as 2 · area / boundary (cells inside it / cells on its edge): the width of a thin
 *  band, straight or curved (Rosenbrock's valley), the radius of a round one. */
export function contourLevels(lz, bottom, top) {
  const rows = lz.length;
  const cols = lz[0]?.length ?? 0;
  const first = bottom + (top - bottom) / (CONTOURS + 1);
  const step = (top - bottom) / (4 * CONTOURS);
  let start = first;
  for (let level = first; level < top; level += step) {
    let area = 0; let edge = 0;
    for (let i = 0; i < rows; i += 1) {
      const row = lz[i];
      for (let j = 0; j < cols; j += 1) {
        if (row[j] >= level) continue;
        area += 1;
        if (i === 0 || i === rows - 1 || j === 0 || j === cols - 1 || lz[i - 1][j] >= level
          || lz[i + 1][j] >= level || row[j - 1] >= level || row[j + 1] >= level) edge += 1;
      }
    }
    start = level;
    if (area && (2 * area) / edge >= MIN_WIDTH) break;
  }
  start = Math.min(start, top - (top - bottom) / 4);
  return { start, end: top, size: (top - start) / CONTOURS };
}

function star(ctx, x, y, r) {
  ctx.beginPath();
  for (let k = 0; k < 10; k += 1) {
    const a = -Math.PI / 2 + (k * Math.PI) / 5;
    const rr = k % 2 ? r * 0.45 : r;
    ctx.lineTo(x + rr * Math.cos(a), y + rr * Math.sin(a));
  }
  ctx.closePath();
}

function cross(ctx, x, y, r) {
  ctx.beginPath();
  ctx.moveTo(x - r, y - r); ctx.lineTo(x + r, y + r);
  ctx.moveTo(x + r, y - r); ctx.lineTo(x - r, y + r);
}

export function createRace(el, { onStart }) {
  let surface = null;
  let racers = [];       // [{id, name, color, x, y, bx, by, cost, diverged, drawn, bdrawn, dots}]
  let ghost = [];        // [{color, x, y, bx, by}]: the paths before the last change
  let showGhost = true;
  let full = true;       // the path canvas must be redrawn from scratch
  let plotted = false;
  let traces = null;     // the surface's contour and minimum traces (the same objects on a resize: no new contours)
  const paths = plotOverlay(el, { className: 'plot-overlay race-paths' });
  const marks = plotOverlay(el, { className: 'plot-overlay race-marks', above: paths.canvas });
  resizeWithBox(el, () => plot());

  function contourTrace(s) {
    // levels are absolute costs J* + geometric offsets: contour log10(J − J*) evenly instead
    const floor = Math.max(s.levels[0] - s.min_cost, 1e-12);
    const top = Math.log10(Math.max(s.levels[s.levels.length - 1] - s.min_cost, 2 * floor));
    const bottom = Math.log10(floor);
    const z = s.z.map((row) => row.map((v) => Math.log10(Math.max(v - s.min_cost, floor))));
    const text = s.z.map((row) => row.map((v) => fmt(v, 4)));
    return {
      type: 'contour', x: s.x, y: s.y, z, text, showscale: false, colorscale: CONTOUR_SCALE,
      zmin: bottom, zmax: top, autocontour: false,
      contours: { ...contourLevels(z, bottom, top), coloring: 'fill', showlines: true },
      line: { color: 'rgba(60, 80, 100, 0.32)', width: 0.9, smoothing: 0.85 },
      hovertemplate: 'w₁ %{x:.4g}<br>w₂ %{y:.4g}<br>J %{text}<extra></extra>',
    };
  }

  /** The margins around the data area; on equal axes they also centre a data area of the
   *  domain's shape in the box (Plotly's own constraint sometimes widened a range instead). */
  function margins(equal) {
    const m = { l: 4.7 * FONT.size, r: 14, t: 10, b: 3.7 * FONT.size };
    const [xmin, xmax, ymin, ymax] = surface.domain;
    const w = el.clientWidth - m.l - m.r;
    const hh = el.clientHeight - m.t - m.b;
    if (!equal || w <= 0 || hh <= 0) return m;
    const ratio = (xmax - xmin) / (ymax - ymin);
    if (w / hh > ratio) { const extra = (w - hh * ratio) / 2; m.l += extra; m.r += extra; }
    else { const extra = (hh - w / ratio) / 2; m.t += extra; m.b += extra; }
    return m;
  }

  function layout() {
    const [xmin, xmax, ymin, ymax] = surface.domain;
    // the same scale on both axes (true angles and shapes) when the surface asks for it; an older
    // server's messages lack `equal_axes`: every surface but the logistic one
    const equal = surface.equal_axes ?? surface.name !== 'logistic';
    return {
      // the box's own size: Plotly.react keeps an autosized plot's old size when the box changes
      autosize: false, width: el.clientWidth, height: el.clientHeight,
      margin: margins(equal), paper_bgcolor: 'rgba(0,0,0,0)', plot_bgcolor: '#fff',
      font: FONT, showlegend: false, hovermode: 'closest', dragmode: 'zoom',
      uirevision: `${surface.name}:${JSON.stringify(surface.params)}`,
      xaxis: { ...AXIS, range: [xmin, xmax], title: { text: 'w₁', standoff: 4 }, exponentformat: 'power', constrain: 'domain' },
      yaxis: { ...AXIS, range: [ymin, ymax], title: { text: 'w₂', standoff: 4 }, exponentformat: 'power',
        ...(equal ? { scaleanchor: 'x', scaleratio: 1, constrain: 'domain' } : {}) },
    };
  }

  /** The contours: once per surface (Plotly). */
  function plot() {
    if (!surface || !window.Plotly) return;
    const minimum = { // a hover target only: the ✕ itself is drawn above the paths
      type: 'scatter', mode: 'markers', x: [surface.minimum[0]], y: [surface.minimum[1]], name: 'minimum',
      marker: { symbol: 'x-thin', size: 14, opacity: 0 }, hovertemplate: 'minimum J* = %{text}<extra></extra>',
      text: [fmt(surface.min_cost, 5)],
    };
    if (!traces) traces = [contourTrace(surface), minimum];
    Plotly.react(el, traces, layout(), { displaylogo: false,
      modeBarButtonsToRemove: ['select2d', 'lasso2d', 'autoScale2d', 'toImage'], doubleClick: 'reset' });
    if (!plotted) {
      plotted = true;
      el.on('plotly_click', (event) => {
        const p = toData(event.event) ?? [event.points?.[0]?.x, event.points?.[0]?.y];
        if (p.every(Number.isFinite)) onStart(p);
      });
      // zoom, pan, resize: the canvases follow the axes
      el.on('plotly_afterplot', () => { full = true; requestPaint(paint); });
      el.on('plotly_relayout', () => { full = true; requestPaint(paint); });
    }
    full = true;
    requestPaint(paint);
  }

  /** Data coordinates of a mouse event over the plot area (null if outside it). */
  function toData(mouse) {
    const fl = el._fullLayout;
    const area = el.querySelector('.nsewdrag');
    if (!fl || !area || !mouse) return null;
    const box = area.getBoundingClientRect();
    const px = mouse.clientX - box.left;
    const py = mouse.clientY - box.top;
    if (px < 0 || py < 0 || px > box.width || py > box.height) return null;
    return [fl.xaxis.p2c(px), fl.yaxis.p2c(py)];
  }

  function line(P, xs, ys, from, { color, width, dash = null, alpha = 1 }) {
    if (xs.length < 2 || from >= xs.length) return;
    const { ctx } = P;
    ctx.save();
    ctx.globalAlpha = alpha;
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    ctx.lineJoin = 'round';
    ctx.lineCap = 'round';
    if (dash) ctx.setLineDash(dash);
    ctx.beginPath();
    const k = Math.max(0, from - 1);
    ctx.moveTo(P.x(xs[k]), P.y(ys[k]));
    for (let i = k + 1; i < xs.length; i += 1) ctx.lineTo(P.x(xs[i]), P.y(ys[i]));
    ctx.stroke();
    ctx.restore();
  }

  function dots(P, xs, ys, from, color) {
    const { ctx } = P;
    ctx.fillStyle = color;
    ctx.beginPath();
    for (let i = from; i < xs.length; i += 1) {
      const px = P.x(xs[i]); const py = P.y(ys[i]);
      ctx.moveTo(px + 1.9, py);
      ctx.arc(px, py, 1.9, 0, 2 * Math.PI);
    }
    ctx.fill();
  }

  function eigenAxes(P) {
    if (!surface.axes?.length) return;
    const [xmin, xmax, ymin, ymax] = surface.domain;
    const span = Math.hypot(xmax - xmin, ymax - ymin);
    const [mx, my] = surface.minimum;
    const { ctx } = P;
    ctx.save();
    ctx.strokeStyle = 'rgba(31, 35, 40, 0.42)';
    ctx.fillStyle = 'rgba(31, 35, 40, 0.7)';
    ctx.lineWidth = 1.2;
    ctx.setLineDash([6, 5]);
    ctx.font = `${FONT.size}px ${FONT.family}`;
    for (const { direction: [dx, dy], curvature } of surface.axes) {
      const n = Math.hypot(dx, dy) || 1;
      const ux = (dx / n) * span; const uy = (dy / n) * span;
      ctx.beginPath();
      ctx.moveTo(P.x(mx - ux), P.y(my - uy));
      ctx.lineTo(P.x(mx + ux), P.y(my + uy));
      ctx.stroke();
      // the curvature beside the axis, a little way from the minimum
      const px = P.x(mx + ux * 0.12); const py = P.y(my + uy * 0.12);
      if (px > 4 && px < P.w - 5 * FONT.size && py > 14 && py < P.h - 4) ctx.fillText(`λ = ${fmt(curvature, 3)}`, px + 5, py - 5);
    }
    ctx.restore();
  }

  /** The paths canvas (only new segments unless `full`) and the markers canvas. */
  function paint() {
    if (!surface) return;
    const P = paths.frame({ clear: full });
    if (!P) return;
    if (full || P.resized) {
      if (!full) P.ctx.clearRect(0, 0, P.w, P.h);
      full = false;
      eigenAxes(P);
      if (showGhost) {
        for (const g of ghost) {
          line(P, g.bx, g.by, 0, { color: g.color, width: 1.5, dash: [2, 4], alpha: 0.3 });
          line(P, g.x, g.y, 0, { color: g.color, width: 2.4, alpha: 0.3 });
        }
      }
      for (const r of racers) { r.drawn = 0; r.bdrawn = 0; }
    }
    for (const r of racers) {
      if (surface.minibatch) line(P, r.bx, r.by, r.bdrawn, { color: r.color, width: 1.6, dash: [2, 4], alpha: 0.9 });
      r.bdrawn = r.bx.length;
      line(P, r.x, r.y, r.drawn, { color: r.color, width: 2.2 });
      if (r.x.length <= DOTS_UP_TO) dots(P, r.x, r.y, r.drawn, r.color);
      r.drawn = r.x.length;
    }
    const M = marks.frame();
    if (!M) return;
    const { ctx } = M;
    for (const r of racers) {
      if (!r.x.length) continue;
      const px = M.x(r.x[r.x.length - 1]); const py = M.y(r.y[r.y.length - 1]);
      if (r.diverged) {
        ctx.lineCap = 'round';
        cross(ctx, px, py, 6); ctx.strokeStyle = '#fff'; ctx.lineWidth = 5; ctx.stroke();
        cross(ctx, px, py, 6); ctx.strokeStyle = r.color; ctx.lineWidth = 2.5; ctx.stroke();
      } else {
        ctx.beginPath(); ctx.arc(px, py, 6, 0, 2 * Math.PI);
        ctx.fillStyle = r.color; ctx.fill(); ctx.strokeStyle = '#fff'; ctx.lineWidth = 2; ctx.stroke();
      }
    }
    // start and minimum above everything: never hidden under the dots
    const [sx, sy] = surface.startPoint;
    star(ctx, M.x(sx), M.y(sy), 9);
    ctx.fillStyle = INK; ctx.fill(); ctx.strokeStyle = '#fff'; ctx.lineWidth = 1.6; ctx.stroke();
    const mx = M.x(surface.minimum[0]); const my = M.y(surface.minimum[1]);
    ctx.lineCap = 'round';
    cross(ctx, mx, my, 6); ctx.strokeStyle = 'rgba(255, 255, 255, 0.95)'; ctx.lineWidth = 5.5; ctx.stroke();
    cross(ctx, mx, my, 6); ctx.strokeStyle = INK; ctx.lineWidth = 2.5; ctx.stroke();
  }

  const repaint = () => { full = true; requestPaint(paint); };

  return {
    /** A new surface: new contours (the paths come back with the next frame). A ghost stays only
     *  on the same surface. */
    setSurface(msg, start, optimizers, names) {
      const same = surface && surface.name === msg.name && JSON.stringify(surface.params) === JSON.stringify(msg.params);
      if (!same) ghost = [];
      surface = { ...msg, startPoint: start ?? msg.start };
      traces = null;
      this.setRacers(optimizers, names);
      plot();
    },
    setRacers(optimizers, names) {
      const old = Object.fromEntries(racers.map((r) => [r.id, r]));
      racers = optimizers.map((o) => ({ x: [], y: [], bx: [], by: [], cost: null, ...(old[o.id] || {}), id: o.id, name: names[o.id], color: o.color }));
      repaint();
    },
    setStart(start) {
      if (surface) { surface.startPoint = start; requestPaint(paint); }
    },
    /** Keep the paths drawn now as the ghost of the previous run (before a change). */
    keepGhost() {
      ghost = racers.filter((r) => r.x.length > 1).map((r) => ({ color: r.color, x: r.x.slice(), y: r.y.slice(), bx: r.bx.slice(), by: r.by.slice() }));
      if (showGhost) repaint();
    },
    /** Presenter mode: larger type on the axes (the contours are drawn again). */
    setPresenter(big) {
      const size = big ? 17 : 12;
      if (FONT.size === size) return;
      FONT.size = size;
      plot();
    },
    setGhostVisible(on) {
      showGhost = Boolean(on);
      repaint();
    },
    /** Append each path's new points (`points_from` < what is drawn: replace from there on). */
    frame(msg) {
      for (const p of msg.paths) {
        const r = racers.find((x) => x.id === p.id);
        if (!r) continue;
        const from = p.points_from ?? r.x.length;
        if (from < r.x.length) { r.x.length = from; r.y.length = from; }
        if (from < r.drawn) full = true;
        for (const [x, y] of p.points) { r.x.push(x); r.y.push(y); }
        if (r.x.length > DOTS_UP_TO && r.drawn <= DOTS_UP_TO && r.drawn > 0) full = true; // its dots go
        if (p.batch_points) {
          const bfrom = p.batch_points_from ?? r.bx.length;
          if (bfrom < r.bx.length) { r.bx.length = bfrom; r.by.length = bfrom; }
          if (bfrom < r.bdrawn) full = true;
          for (const [x, y] of p.batch_points) { r.bx.push(x); r.by.push(y); }
        }
        r.cost = p.cost;
        r.diverged = p.status === 'diverged';
      }
      const first = msg.paths.find((p) => p.points_from === 0 && p.points.length);
      if (surface && first) surface.startPoint = [first.points[0][0], first.points[0][1]];
      requestPaint(paint);
    },
    /** Points drawn per racer (tests and the results table read it). */
    counts() { return Object.fromEntries(racers.map((r) => [r.id, r.x.length])); },
    /** Every racer's path (tests: a replayed path differs). */
    paths() { return Object.fromEntries(racers.map((r) => [r.id, r.x.map((x, i) => [x, r.y[i]])])); },
    get surface() { return surface; },
  };
}
