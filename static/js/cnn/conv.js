// The convolution explorer's arithmetic, in the course's notation and free of the DOM (so the
// browser tests can import it and check it against hand-worked numbers). Matrices are arrays of
// rows. "Convolution" is the course's: a cross-correlation (the filter is not flipped).

/** The filters the course names (f = 3). Vertical: bright on the left, dark on the right gives a
 *  positive edge; the horizontal ones are their transposes. */
export const FILTERS = {
  vertical: [[1, 0, -1], [1, 0, -1], [1, 0, -1]],
  horizontal: [[1, 1, 1], [0, 0, 0], [-1, -1, -1]],
  sobel_v: [[1, 0, -1], [2, 0, -2], [1, 0, -1]],
  sobel_h: [[1, 2, 1], [0, 0, 0], [-1, -2, -1]],
  scharr_v: [[3, 0, -3], [10, 0, -10], [3, 0, -3]],
  scharr_h: [[3, 10, 3], [0, 0, 0], [-3, -10, -3]],
};
export const FILTER_SIZES = [1, 3, 5]; // of a custom filter: odd, so that "same" padding is whole

/** The course's 6×6 example: 10s on the left half, 0s on the right (one vertical edge). */
export const EDGE_IMAGE = Array.from({ length: 6 }, () => [10, 10, 10, 0, 0, 0]);

/** The padding p of a setting: 'valid' = 0, 'same' = (f − 1)/2, or a number of zero rings. */
export function paddingOf(padding, f) {
  if (padding === 'valid') return 0;
  if (padding === 'same') return (f - 1) / 2;
  return Number(padding);
}

/** ⌊(n + 2p − f)/s⌋ + 1: the output size along one side (≤ 0 when the window does not fit). */
export const outputSize = (n, f, p, s) => Math.floor((n + 2 * p - f) / s) + 1;

/** The image with p rings of zeros around it. */
export function pad(image, p) {
  const cols = image[0].length + 2 * p;
  const zeros = () => new Array(cols).fill(0);
  return [
    ...Array.from({ length: p }, zeros),
    ...image.map((row) => [...new Array(p).fill(0), ...row, ...new Array(p).fill(0)]),
    ...Array.from({ length: p }, zeros),
  ];
}

/** The f×f window of `m` whose top-left corner is (r, c). */
export const windowAt = (m, r, c, f) => m.slice(r, r + f).map((row) => row.slice(c, c + f));

/** Convolve `image` with `filter` ({padding, stride}). Returns {padded, p, f, s, size, output}:
 *  output[i][j] = Σ padded[i·s + a][j·s + b] · filter[a][b]; size ≤ 0 when the filter does not fit. */
export function convolve(image, filter, { padding = 'valid', stride = 1 } = {}) {
  const f = filter.length;
  const p = paddingOf(padding, f);
  const padded = pad(image, p);
  const size = outputSize(image.length, f, p, stride);
  const output = [];
  for (let i = 0; i < size; i++) {
    const row = [];
    for (let j = 0; j < size; j++) {
      let sum = 0;
      for (let a = 0; a < f; a++) for (let b = 0; b < f; b++) sum += padded[i * stride + a][j * stride + b] * filter[a][b];
      row.push(sum);
    }
    output.push(row);
  }
  return { padded, p, f, s: stride, size, output };
}

/** Pool `m` with an f×f window and stride s ('max' or 'avg'); {size, output} as for convolve. */
export function pool(m, mode, f, s) {
  const size = outputSize(m.length, f, 0, s);
  const output = [];
  for (let i = 0; i < size; i++) {
    const row = [];
    for (let j = 0; j < size; j++) {
      const values = windowAt(m, i * s, j * s, f).flat();
      row.push(mode === 'max' ? Math.max(...values) : values.reduce((x, y) => x + y, 0) / values.length);
    }
    output.push(row);
  }
  return { size, output };
}

/** A number as the course writes it in a product: −1 in parentheses, with a true minus sign. */
export function term(x) {
  const text = formatNumber(x);
  return x < 0 ? `(${text})` : text;
}

/** Short, exact-looking numbers: 30, −20, 2.5, 7.333. */
export function formatNumber(x) {
  const r = Math.round(x * 1000) / 1000;
  return String(Object.is(r, -0) ? 0 : r).replace('-', '−');
}

/** Output cell (i, j)'s sum of products written out: "10·1 + 10·0 + 10·(−1) + … = 30" (every term). */
export function sumOfProducts(conv, filter, i, j) {
  const { padded, f, s } = conv;
  const terms = [];
  for (let a = 0; a < f; a++) for (let b = 0; b < f; b++) terms.push(`${term(padded[i * s + a][j * s + b])}·${term(filter[a][b])}`);
  return `${terms.join(' + ')} = ${formatNumber(conv.output[i][j])}`;
}

/** Pooled cell (i, j) written out: "max(0, 30, 0, 30) = 30" or "avg(…) = 15". */
export function poolExpression(m, mode, f, s, i, j, value) {
  const values = windowAt(m, i * s, j * s, f).flat().map(formatNumber);
  return `${mode === 'max' ? 'max' : 'avg'}(${values.join(', ')}) = ${formatNumber(value)}`;
}

/** Parameters of a conv layer of n_C' filters f×f on n_C channels (f·f·n_C·n_C' weights + n_C'
 *  biases) and of a dense layer joining the same volumes (n·n·n_C inputs to out·out·n_C' units). */
export function parameterCounts({ n, f, nC, filters, outSize }) {
  const inputs = n * n * nC;
  const units = outSize * outSize * filters;
  return { conv: f * f * nC * filters + filters, dense: inputs * units + units, inputs, units };
}
