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

/** Paint a (rows, cols) grid (row 0 = bottom) onto a canvas of that size; `toT` maps a value to
 *  [-1, 1] of the diverging scale. */
export function paintGrid(canvas, data, rows, cols, toT) {
  if (canvas.width !== cols) canvas.width = cols;
  if (canvas.height !== rows) canvas.height = rows;
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(cols, rows);
  for (let r = 0; r < rows; r++) {
    const dst = (rows - 1 - r) * cols; // canvas row 0 is the top
    for (let c = 0; c < cols; c++) {
      const [R, G, B] = diverging(toT(data[r * cols + c]));
      const p = 4 * (dst + c);
      image.data[p] = R; image.data[p + 1] = G; image.data[p + 2] = B; image.data[p + 3] = 255;
    }
  }
  ctx.putImageData(image, 0, 0);
}

/** Symmetric scale for a grid: maps ±max|v| to ±1 (0 stays neutral). */
export function symmetricScale(data) {
  let m = 1e-9;
  for (let i = 0; i < data.length; i++) m = Math.max(m, Math.abs(data[i]));
  return (v) => v / m;
}

/** Colour of a class index or of a regression value already mapped to [-1, 1]. */
export function classColor(kind, y, classes) {
  if (kind === 'multiclass' || (kind === 'binary' && classes > 2)) return PALETTE[y % PALETTE.length];
  if (kind === 'regression') return cssRgb(diverging(y));
  return y >= 0.5 ? POSITIVE : NEGATIVE;
}
