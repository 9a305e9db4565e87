// Small canvases for the Live ConvNet: an image in grey (the input, thumbnails), a feature map or a
// filter on the playground's diverging scale (orange negative, grey 0, blue positive). DOM only,
// no state. Row 0 of an image is its top row.
import { h } from '../../dom.js';
import { DIVERGING_TABLE } from '../../colors.js';

const GREY = (() => {
  const lut = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    const v = 255 - i; // dark ink on white, as the digits are drawn
    lut[i] = (255 << 24) | (v << 16) | (v << 8) | v;
  }
  return lut;
})();

/** Paint a (rows, cols) array (offset `start` in `data`) onto `canvas` through a 256-entry LUT. */
function paint(canvas, data, start, rows, cols, lo, hi, lut) {
  if (canvas.width !== cols) canvas.width = cols;
  if (canvas.height !== rows) canvas.height = rows;
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(cols, rows);
  const px = new Uint32Array(image.data.buffer);
  const k = hi > lo ? 255 / (hi - lo) : 0;
  for (let i = 0; i < rows * cols; i++) {
    const t = ((data[start + i] - lo) * k + 0.5) | 0;
    px[i] = lut[t < 0 ? 0 : t > 255 ? 255 : t];
  }
  ctx.putImageData(image, 0, 0);
}

function range(data, start, n) {
  let lo = Infinity; let hi = -Infinity;
  for (let i = start; i < start + n; i++) { if (data[i] < lo) lo = data[i]; if (data[i] > hi) hi = data[i]; }
  return [lo, hi];
}

/** A grey image canvas (its own min → white, max → ink). */
export function greyCanvas(data, start, rows, cols, attrs = {}) {
  const canvas = h('canvas', { class: 'cnn-px', ...attrs });
  const [lo, hi] = range(data, start, rows * cols);
  paint(canvas, data, start, rows, cols, lo, hi, GREY);
  return canvas;
}

/** Repaint a grey canvas in place. */
export function paintGrey(canvas, data, start, rows, cols) {
  const [lo, hi] = range(data, start, rows * cols);
  paint(canvas, data, start, rows, cols, lo, hi, GREY);
}

/** A diverging canvas scaled by ±scale (0 stays grey). */
export function divergingCanvas(data, start, rows, cols, scale, attrs = {}) {
  const canvas = h('canvas', { class: 'cnn-px', ...attrs });
  paint(canvas, data, start, rows, cols, -scale, scale, DIVERGING_TABLE);
  return canvas;
}

/** max |v| over data (at least 1e-9). */
export function absMax(data) {
  let m = 1e-9;
  for (let i = 0; i < data.length; i++) { const a = Math.abs(data[i]); if (a > m) m = a; }
  return m;
}
