// What the explorer shows for a state, DOM-free: the input image, the filter, the convolution and
// the optional pooling after it (a pooling whose window does not fit the map is left out).
import { convolve, pool } from './conv.js';
import { filterOf } from './state.js';
import { imageOf } from './inputs.js';

/** {image, filter, conv, pooling, pooled, pool: {mode, f, s}} of state `s` (a drawing may be
 *  passed in `s` before it is stored: the pixels follow the pointer, the hash the stroke's end). */
export function computeView(s, digits) {
  const image = imageOf(s, digits);
  const filter = filterOf(s);
  const conv = convolve(image, filter, { padding: s.padding, stride: s.stride });
  const wanted = s.pool !== 'none' && conv.size > 0;
  const pooled = wanted ? pool(conv.output, s.pool, s.pool_f, s.pool_s) : { size: 0, output: [] };
  return {
    image, filter, conv, pooled,
    wantsPool: wanted,                       // pooling chosen (its formula is shown, even when it does not fit)
    pooling: wanted && pooled.size > 0,      // and drawn
    pool: { mode: s.pool, f: s.pool_f, s: s.pool_s },
  };
}
