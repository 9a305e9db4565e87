// The explorer's input images: the course's 6×6 edge, a handwritten digit (8×8, 0..16) from
// static/data/digits8x8.json, or the user's 16×16 drawing (its lit pixels worth DRAW_VALUE).
import { EDGE_IMAGE } from './conv.js';
import { decodeDrawing, DRAW_VALUE } from './state.js';

// The digits: the first image of each class 0-9 of scikit-learn's load_digits() (the UCI
// optical-recognition set it ships), written once to a small JSON file; its `source` says so.
export const DIGITS_URL = '/static/data/digits8x8.json';

/** {images, labels, source}, or null when the file cannot be loaded (the digit input is then off). */
export async function loadDigits() {
  try {
    const response = await fetch(DIGITS_URL);
    return response.ok ? await response.json() : null;
  } catch {
    return null;
  }
}

/** The image (array of rows) the state selects. */
export function imageOf(s, digits) {
  if (s.input === 'digit' && digits) return digits.images[s.digit];
  if (s.input === 'drawn') return decodeDrawing(s.drawing).map((row) => row.map((bit) => bit * DRAW_VALUE));
  return EDGE_IMAGE;
}
