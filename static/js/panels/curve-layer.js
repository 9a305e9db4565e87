// The lines of a CURVES plot, painted on a canvas over its Plotly plot area. Plotly keeps the
// axes, the grid, zoom, hover and export (its traces hold the same points, drawn transparent),
// and is redrawn only when an axis changes; this layer redraws the lines for every new point
// (a few thousand points take about a millisecond, where a Plotly redraw of the same curves took
// 15–40 ms and, several times a second, cost the page its frame rate).

/** `canvas` lies over `plot` (a Plotly div), same box, and lets the mouse through. */
export function createCurveLayer(canvas, plot) {
  let lines = []; // [{x, y, color, width}]: x and y arrays of numbers or null (a gap, joined over)

  function render() {
    const dpr = window.devicePixelRatio || 1;
    const W = Math.round(plot.clientWidth * dpr);
    const H = Math.round(plot.clientHeight * dpr);
    if (canvas.width !== W) canvas.width = W;
    if (canvas.height !== H) canvas.height = H;
    const ctx = canvas.getContext('2d');
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, W, H);
    const xa = plot._fullLayout?.xaxis;
    const ya = plot._fullLayout?.yaxis;
    if (!xa?._length || !ya?._length) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.save();
    ctx.beginPath();
    ctx.rect(xa._offset, ya._offset, xa._length, ya._length);
    ctx.clip();
    ctx.lineJoin = 'round';
    ctx.lineCap = 'round';
    for (const { x, y, color, width } of lines) {
      ctx.beginPath();
      let started = false;
      for (let i = 0; i < x.length; i++) {
        const v = y[i];
        if (typeof v !== 'number' || !Number.isFinite(v)) continue;
        const px = xa._offset + xa.l2p(x[i]);
        const py = ya._offset + ya.l2p(v);
        if (started) ctx.lineTo(px, py); else { ctx.moveTo(px, py); started = true; }
      }
      ctx.strokeStyle = color;
      ctx.lineWidth = width;
      ctx.stroke();
    }
    ctx.restore();
  }

  return {
    render,
    /** Draw these lines (the arrays are read at each render: a grown curve needs only render()). */
    show(next) { lines = next; render(); },
  };
}
