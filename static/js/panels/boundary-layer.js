// The boundary image under the OUTPUT plot's axes: the frame's grid painted through a colour
// table into a grid-sized canvas (one typed-array pass), then drawn scaled with high-quality
// smoothing onto a canvas the size of the plot, inside Plotly's plot area (so zoom and resizing
// follow Plotly's axes), with the ŷ = 0.5 contour on top. Plotly keeps the axes and the points
// (drawn once per data), this layer the image (drawn every frame): re-rendering a 100×100 Plotly
// heatmap each frame was most of a frame's main-thread time.
import { paintTable, NEUTRAL } from '../colors.js';
import { contourSegments } from '../contour.js';

const CONTOUR = '#4a5056';

/** `canvas` lies under `plot` (a Plotly div with a transparent background), same box. */
export function createBoundaryLayer(canvas, plot) {
  const source = document.createElement('canvas'); // the grid, one pixel per grid point
  let shown = null; // {data, rows, cols, lo, hi, lut, level, domain}: what is painted

  /** Grid (row 0 = ymin) -> plot pixels: the first and last grid points sit on the domain's
   *  edges (engine/grids.py: linspace), so the source rectangle runs between pixel centres. */
  function drawImage(ctx, x0, y0, w, h, lineWidth = 1.5) {
    const { rows, cols } = shown;
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(source, 0.5, 0.5, Math.max(cols - 1, 1), Math.max(rows - 1, 1), x0, y0, w, h);
    if (shown.level === null) return;
    const seg = contourSegments(shown.data, rows, cols, shown.level);
    if (!seg.length) return;
    const sx = w / (cols - 1);
    const sy = h / (rows - 1);
    ctx.beginPath();
    for (let k = 0; k < seg.length; k += 4) {
      ctx.moveTo(x0 + seg[k] * sx, y0 + h - seg[k + 1] * sy);
      ctx.lineTo(x0 + seg[k + 2] * sx, y0 + h - seg[k + 3] * sy);
    }
    ctx.strokeStyle = CONTOUR;
    ctx.lineWidth = lineWidth;
    ctx.lineCap = 'round';
    ctx.stroke();
  }

  /** Draw the painted grid where Plotly's axes put the domain (after a frame, a zoom, a resize). */
  function render() {
    const dpr = window.devicePixelRatio || 1;
    const w = plot.clientWidth;
    const h = plot.clientHeight;
    const W = Math.round(w * dpr);
    const H = Math.round(h * dpr);
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
    ctx.fillStyle = NEUTRAL;
    ctx.fill();
    if (shown) {
      const [xmin, xmax, ymin, ymax] = shown.domain;
      const x0 = xa._offset + xa.l2p(xmin);
      const x1 = xa._offset + xa.l2p(xmax);
      const y0 = ya._offset + ya.l2p(ymax);
      const y1 = ya._offset + ya.l2p(ymin);
      drawImage(ctx, x0, y0, x1 - x0, y1 - y0);
    }
    ctx.restore();
  }

  return {
    render,
    /** Paint a (rows, cols) grid over `domain`: value lo -> lut[0], hi -> lut[255]; `level`: the
     *  value whose contour is drawn, or null. */
    paint({ data, rows, cols, lo, hi, lut, level = null, domain }) {
      shown = { data, rows, cols, lo, hi, lut, level, domain };
      paintTable(source, data, rows, cols, lo, hi, lut);
      render();
    },
    clear() { shown = null; render(); },
    get shown() { return shown; },
    /** The grid value nearest to (x, y), or null outside the domain. */
    valueAt(x, y) {
      if (!shown) return null;
      const { data, rows, cols, domain: [xmin, xmax, ymin, ymax] } = shown;
      const c = Math.round(((x - xmin) / (xmax - xmin)) * (cols - 1));
      const r = Math.round(((y - ymin) / (ymax - ymin)) * (rows - 1));
      return c < 0 || r < 0 || c >= cols || r >= rows ? null : data[r * cols + c];
    },
    /** A PNG data URL of the domain's image alone (size × size), for an exported figure. */
    imageUrl(size = 800) {
      if (!shown) return null;
      const out = document.createElement('canvas');
      out.width = size;
      out.height = size;
      drawImage(out.getContext('2d'), 0, 0, size, size, size / 300);
      return out.toDataURL('image/png');
    },
  };
}
