// How large the stage's cells can be (DOM-free): the figures (input ∗ filter = output → pooled)
// in one row, or in two (input ∗ filter / = output → pooled) when that gives larger cells, e.g. a
// padded 16×16 drawing with a 5×5 filter. Sizes in px; `rem` is the root font size.

const OP = 2.8;          // rem between two figures: the operator (1.6rem) and two gaps (0.6rem)
const CAPTION_MIN = 5.5; // rem: a figure is at least as wide as its caption's minimum
const CAPTION = 3.2;     // rem above each row of grids: the captions (up to two lines) and a gap
const MIN_CELL = 9;

/** {cell, wrap}: the largest cell (≤ maxCell) with which the figures fit `width` × `height`, and
 *  whether the second row starts at the output. figures: [{cols, rows}] in order. */
export function fitStage({ figures, width, height, rem, maxCell }) {
  const figWidth = (f, cell) => Math.max(f.cols * (cell + 1) + 1, CAPTION_MIN * rem);
  const rowWidth = (figs, cell, leadingOp) => figs.reduce((w, f) => w + figWidth(f, cell), 0) + (figs.length - 1 + leadingOp) * OP * rem;
  const rowsFor = (wrap) => (wrap ? [[figures.slice(0, 2), 0], [figures.slice(2), 1]] : [[figures, 0]]);
  const best = (wrap) => {
    const lines = rowsFor(wrap);
    const tallest = lines.reduce((n, [figs]) => n + Math.max(...figs.map((f) => f.rows)), 0);
    const byHeight = Math.floor((height - lines.length * CAPTION * rem - tallest) / tallest);
    let cell = Math.min(maxCell, byHeight);
    while (cell > MIN_CELL && lines.some(([figs, lead]) => rowWidth(figs, cell, lead) > width)) cell -= 1;
    return Math.max(MIN_CELL, cell);
  };
  const one = best(false);
  const two = figures.length > 2 ? best(true) : 0;
  return two > one * 1.25 ? { cell: two, wrap: true } : { cell: one, wrap: false };
}
