// Tiny DOM helpers: build elements declaratively and format numbers for display.

/** h('div', {class: 'x', onclick: fn}, child, 'text') -> HTMLElement. */
export function h(tag, attrs = {}, ...children) {
  const el = tag.startsWith('svg:')
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);

/** A number for a control or counter: short, no float noise (0.30000000000000004 -> 0.3). */
export function fmt(x, digits = 4) {
  if (x === null || x === undefined || Number.isNaN(x)) return '–';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e5 || a < 1e-3) return Number(x.toPrecision(digits)).toExponential().replace('e+', 'e');
  return String(Number(x.toPrecision(digits)));
}

/** Digits as Unicode subscripts: 12 -> ₁₂ (unit and feature names such as ŷ₂, x₃). */
export const subscript = (n) => String(n).replace(/\d/g, (d) => '₀₁₂₃₄₅₆₇₈₉'[d]);

/** Integer with thousands separators, e.g. 12,345. */
export const fmtInt = (x) => (x === null || x === undefined ? '–' : Math.round(x).toLocaleString('en-US'));

/** Percent with one decimal. */
export const fmtPct = (x) => (x === null || x === undefined ? '–' : `${(100 * x).toFixed(1)}%`);

/** Download `href` (a URL or an object URL) as `filename`. */
export function download(href, filename) {
  const a = h('a', { href, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
}

/** Close a <details> menu when the user clicks anywhere outside it. */
export function closeOnOutsideClick(details) {
  document.addEventListener('click', (e) => { if (details.open && !details.contains(e.target)) details.open = false; });
}
