// What the Plotly plots share: the page's font (scaled in presenter mode) and resizing with
// their container (Plotly's `responsive` only follows the window).

/** Plotly `font` for the current mode: the page's family, 11 px at the 14 px base, scaled with
 *  the page's type (playground.css sets the root font size for presenter mode and large screens)
 *  up to 1.5×: the plots' margins are in pixels. */
export function plotFont(_store) {
  const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 14;
  return { family: getComputedStyle(document.body).fontFamily, size: 11 * Math.min(rem / 14, 1.5), color: '#4a5056' };
}

/** Keep a plot sized to its element whenever the element's size changes. */
export function resizeWithContainer(el) {
  let pending = false;
  new ResizeObserver(() => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      if (window.Plotly && el.data && el.offsetWidth) window.Plotly.Plots.resize(el);
    });
  }).observe(el);
}
