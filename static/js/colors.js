// The one diverging colour scale (orange = negative / class 0, light grey = 0 / boundary,
// blue = positive / class 1), the colour-blind-safe multi-class palette and canvas painting.

export const NEGATIVE = '#f59322';
export const NEUTRAL = '#e8eaeb';
export const POSITIVE = '#0877bd';
// Okabe–Ito, colour-blind safe; class 0 and 1 keep the binary hues' spirit (orange, blue).
export const PALETTE = ['#e69f00', '#0072b2', '#009e73', '#cc79a7', '#56b4e9', '#d55e00'];
export const TRAIN_CURVE = '#333a40';
export const DEV_CURVE = '#c2185b';

const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
const NEG = rgb(NEGATIVE);
const MID = rgb(NEUTRAL);
const POS = rgb(POSITIVE);

/** Plotly colorscale of the diverging scale. */
export const DIVERGING = [[0, NEGATIVE], [0.5, NEUTRAL], [1, POSITIVE]];

/** [r, g, b] for t in [-1, 1] on the diverging scale. */
export function diverging(t) {
  const u = Math.max(-1, Math.min(1, t));
  const [a, b, w] = u < 0 ? [MID, NEG, -u] : [MID, POS, u];
  return [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * w));
}

export const cssRgb = ([r, g, b]) => `rgb(${r},${g},${b})`;

/** A palette colour lightened towards white (for the multi-class background). */
export function tint(hex, amount) {
  return cssRgb(rgb(hex).map((c) => Math.round(c + (255 - c) * amount)));
}

// Painting grids: a 256-entry colour table (RGBA as one little-endian Uint32 per entry, the
// layout of ImageData on every platform browsers run on) and one typed-array pass per image.
// Why: a frame paints the boundary and a thumbnail per neuron 30-60 times a second; building an
// [r, g, b] array and a CSS string per pixel cost more than the network it shows.

/** A colour table of 256 entries: entry i is `color(i)` ([r, g, b]) packed for a Uint32 view. */
export function colorTable(color) {
  const lut = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    const [r, g, b] = color(i);
    lut[i] = ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;
  }
  return lut;
}

/** The diverging scale from `neg` through `mid` to `pos` ([r, g, b]) over the table's 256 entries. */
export function divergingTable(neg = NEG, mid = MID, pos = POS) {
  return colorTable((i) => {
    const u = i / 127.5 - 1;
    const [a, b, w] = u < 0 ? [mid, neg, -u] : [mid, pos, u];
    return [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * w));
  });
}

export const DIVERGING_TABLE = divergingTable();

/** (rows, cols) values (row 0 = bottom) -> canvas pixels (row 0 = top) through `lut`: value lo
 *  is entry 0, hi entry 255 (clamped). The canvas takes the grid's size; its ImageData is kept. */
export function paintTable(canvas, data, rows, cols, lo, hi, lut = DIVERGING_TABLE) {
  if (canvas.width !== cols) canvas.width = cols;
  if (canvas.height !== rows) canvas.height = rows;
  let image = canvas.nnImage;
  if (!image || image.width !== cols || image.height !== rows) {
    image = canvas.getContext('2d').createImageData(cols, rows);
    canvas.nnImage = image;
    canvas.nnPixels = new Uint32Array(image.data.buffer);
  }
  const px = canvas.nnPixels;
  const k = hi > lo ? 255 / (hi - lo) : 0;
  for (let r = 0; r < rows; r++) {
    const src = r * cols;
    const dst = (rows - 1 - r) * cols;
    for (let c = 0; c < cols; c++) {
      const i = ((data[src + c] - lo) * k + 0.5) | 0;
      px[dst + c] = lut[i < 0 ? 0 : i > 255 ? 255 : i];
    }
  }
  canvas.getContext('2d').putImageData(image, 0, 0);
}

/** Paint a (rows, cols) grid (row 0 = bottom) onto a canvas of that size; `toT` maps a value to
 *  [-1, 1] of the diverging scale (kept for pages that map values their own way). */
export function paintGrid(canvas, data, rows, cols, toT) {
  const t = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) t[i] = toT(data[i]);
  paintTable(canvas, t, rows, cols, -1, 1);
}

/** max |v| of a grid (at least 1e-9): its symmetric colour range is [-m, m]. */
export function absMax(data) {
  let m = 1e-9;
  for (let i = 0; i < data.length; i++) {
    const a = data[i] < 0 ? -data[i] : data[i];
    if (a > m) m = a;
  }
  return m;
}

/** Symmetric scale for a grid: maps ±max|v| to ±1 (0 stays neutral). */
export function symmetricScale(data) {
  const m = absMax(data);
  return (v) => v / m;
}

/** Colour of a class index or of a regression value already mapped to [-1, 1]. */
export function classColor(kind, y, classes) {
  if (kind === 'multiclass' || (kind === 'binary' && classes > 2)) return PALETTE[y % PALETTE.length];
  if (kind === 'regression') return cssRgb(diverging(y));
  return y >= 0.5 ? POSITIVE : NEGATIVE;
}
