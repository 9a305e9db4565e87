// The lines of a CURVES plot, painted on a canvas over its Plotly plot area. Plotly keeps the
// axes, the grid, zoom, hover and export (its traces hold the same points, drawn transparent),
// and is redrawn only when an axis changes; this layer draws the lines: all of them after a
// Plotly draw (new axes), and at a frame only the segments to the new points (a whole repaint of
// thousands of points each frame, like a Plotly redraw of them a few times a second, took the
// frames the page had to paint). Line colours are opaque: a segment drawn over the end of the
// previous one must not darken their joint.

/** `canvas` lies over `plot` (a Plotly div), same box, and lets the mouse through. */
export function createCurveLayer(canvas, plot) {
  let lines = []; // [{x, y, color, width}]: x and y arrays of numbers or null (a gap, joined over)
  let drawn = 0;  // points of `lines` on the canvas (they share x)
  let axes = null; // {xa, ya} the lines were drawn with, or null (nothing to draw on)

  /** Stroke every line from point `from` (joined to the last point before it) to the end. */
  function stroke(from) {
    const ctx = canvas.getContext('2d');
    const { xa, ya } = axes;
    for (const { x, y, color, width } of lines) {
      ctx.beginPath();
      let started = false;
      let i = from;
      while (i > 0 && !(typeof y[i - 1] === 'number' && Number.isFinite(y[i - 1]))) i--; // the last drawn point
      for (i = Math.max(i - 1, 0); i < x.length; i++) {
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
    drawn = lines[0]?.x.length ?? 0;
  }

  /** Everything again: after Plotly drew (new axes, a resize) or new lines. */
  function render() {
    const dpr = window.devicePixelRatio || 1;
    const W = Math.round(plot.clientWidth * dpr);
    const H = Math.round(plot.clientHeight * dpr);
    if (canvas.width !== W) canvas.width = W;
    if (canvas.height !== H) canvas.height = H;
    const ctx = canvas.getContext('2d');
    ctx.reset(); // clear, and drop the last render's clip and transform
    const xa = plot._fullLayout?.xaxis;
    const ya = plot._fullLayout?.yaxis;
    axes = xa?._length && ya?._length ? { xa, ya } : null;
    drawn = 0;
    if (!axes) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.beginPath();
    ctx.rect(xa._offset, ya._offset, xa._length, ya._length);
    ctx.clip(); // stays for the segments added later (until the next render)
    ctx.lineJoin = 'round';
    ctx.lineCap = 'round';
    stroke(0);
  }

  return {
    /** Show these lines: all of them when `full` (new axes), else, for the same arrays grown
     *  since, only the new segments. */
    show(next, full = false) {
      const same = next.length === lines.length && next.every((l, k) => l.x === lines[k].x && l.y === lines[k].y);
      const length = next[0]?.x.length ?? 0;
      lines = next;
      if (full || !same || !axes || length < drawn) render();
      else if (length > drawn) stroke(drawn);
    },
  };
}
