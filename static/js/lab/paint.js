// Painting for the lab: one animation-frame loop shared by every plot (at most one paint of each
// per frame, `window.nnPaint.drawn` counts the frames painted: bench/paint_bench.py reads it), and
// canvases laid over a Plotly plot's data area. Plotly draws what changes rarely (the contours, the
// axes) once; the paths and markers that change every frame are drawn on the canvases.

const painters = new Set();
let queued = false;
window.nnPaint = window.nnPaint || { drawn: 0 };

function flush() {
  queued = false;
  const due = [...painters];
  painters.clear();
  for (const paint of due) {
    try { paint(); } catch (err) { console.error(err); }
  }
  window.nnPaint.drawn += 1;
}

/** Run `paint` in the next animation frame (once, however often it is requested before). */
export function requestPaint(paint) {
  painters.add(paint);
  if (!queued) { queued = true; requestAnimationFrame(flush); }
}

/** Keep a Plotly plot sized to its box (its `responsive` option only follows the window):
 *  `resize()` (default Plotly.Plots.resize) once per animation frame when the box changes. */
export function resizeWithBox(el, resize = () => Plotly.Plots.resize(el)) {
  let last = '';
  new ResizeObserver(() => {
    const r = el.getBoundingClientRect();
    const size = `${Math.round(r.width)}x${Math.round(r.height)}`;
    if (size === last || !el._fullLayout || !window.Plotly) return;
    last = size;
    requestPaint(resize);
  }).observe(el);
}

/** A canvas over the data area of Plotly plot `el`, above the traces and below the zoom box and
 *  the hover labels (`above`: another overlay's canvas to lie on). `frame({clear})` sizes it to the area (device pixels) and returns
 *  {ctx, x(v), y(v), w, h, resized} with data -> canvas-pixel maps, or null before the first plot. */
export function plotOverlay(el, { className = 'plot-overlay', above = null } = {}) {
  const canvas = document.createElement('canvas');
  canvas.className = className;
  canvas.setAttribute('aria-hidden', 'true');
  canvas.style.position = 'absolute';
  canvas.style.pointerEvents = 'none';
  let box = '';
  return {
    canvas,
    frame({ clear = true } = {}) {
      const full = el._fullLayout;
      const xa = full?.xaxis;
      const ya = full?.yaxis;
      const container = el.querySelector('.svg-container');
      if (!xa || !ya || !container || !xa._length || !ya._length) return null;
      if (canvas.parentNode !== container) {
        const below = above?.parentNode === container ? above : container.querySelector('.main-svg');
        if (below) below.after(canvas); else container.append(canvas);
        box = '';
      }
      const dpr = window.devicePixelRatio || 1;
      const w = xa._length;
      const h = ya._length;
      const key = `${xa._offset},${ya._offset},${w},${h},${dpr}`;
      const resized = key !== box;
      if (resized) {
        box = key;
        canvas.style.left = `${xa._offset}px`;
        canvas.style.top = `${ya._offset}px`;
        canvas.style.width = `${w}px`;
        canvas.style.height = `${h}px`;
        canvas.width = Math.round(w * dpr);
        canvas.height = Math.round(h * dpr);
      }
      const ctx = canvas.getContext('2d');
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      if (clear || resized) ctx.clearRect(0, 0, w, h);
      const LIM = 1e5; // far-off points (a diverged path) stay drawable
      const clamp = (p) => (p > LIM ? LIM : p < -LIM ? -LIM : p);
      return { ctx, w, h, resized, x: (v) => clamp(xa.c2p(v)), y: (v) => clamp(ya.c2p(v)) };
    },
  };
}
