// One contour line of a grid (marching squares): the decision boundary ŷ = 0.5 drawn over the
// boundary image. One pass over the cells; segments in grid coordinates (column, row).

/** Segments [c0, r0, c1, r1, ...] where the (rows, cols) grid (row-major) crosses `level`,
 *  linearly interpolated along the cell edges. Saddle cells take the usual pair of segments. */
export function contourSegments(data, rows, cols, level) {
  const out = [];
  const at = (a, b) => (level - a) / (b - a); // where the level lies between two corner values
  for (let r = 0; r < rows - 1; r++) {
    for (let c = 0; c < cols - 1; c++) {
      const i = r * cols + c;
      const v00 = data[i];            // (c, r)
      const v10 = data[i + 1];        // (c+1, r)
      const v01 = data[i + cols];     // (c, r+1)
      const v11 = data[i + cols + 1]; // (c+1, r+1)
      const code = (v00 >= level ? 1 : 0) | (v10 >= level ? 2 : 0) | (v11 >= level ? 4 : 0) | (v01 >= level ? 8 : 0);
      if (code === 0 || code === 15) continue;
      // crossing points on the four edges (computed only where needed)
      const bottom = () => [c + at(v00, v10), r];
      const right = () => [c + 1, r + at(v10, v11)];
      const top = () => [c + at(v01, v11), r + 1];
      const left = () => [c, r + at(v00, v01)];
      const seg = (p, q) => out.push(p[0], p[1], q[0], q[1]);
      switch (code) {
        case 1: case 14: seg(left(), bottom()); break;
        case 2: case 13: seg(bottom(), right()); break;
        case 3: case 12: seg(left(), right()); break;
        case 4: case 11: seg(right(), top()); break;
        case 6: case 9: seg(bottom(), top()); break;
        case 7: case 8: seg(left(), top()); break;
        case 5: seg(left(), top()); seg(bottom(), right()); break;
        case 10: seg(left(), bottom()); seg(right(), top()); break;
        default: break;
      }
    }
  }
  return out;
}
