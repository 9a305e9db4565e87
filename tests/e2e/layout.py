"""Layout checks for the browser tests: what a user sees overlapping or cut off, from bounding boxes.

`layout_problems(page)` lists, in words, every pair of visible controls or texts whose boxes
overlap, every one that sticks out of the window or out of a box that clips it, and a page that
scrolls sideways. A plot (Plotly's or a canvas) counts as one box: its inside is its own business.
"""
from __future__ import annotations

VIEWPORTS = {  # the sizes a class projects or a student's laptop has
    "1024x768": (1024, 768), "1280x800": (1280, 800), "1366x768": (1366, 768),
    "1920x1080": (1920, 1080), "3840x2160": (3840, 2160),
}

_JS = r"""
(scope) => {
  const root = document.querySelector(scope) || document.body;
  const PLOT = '.js-plotly-plot, canvas, svg';
  // decoration (aria-hidden: the network's link layer lies under its nodes on purpose)
  const SKIP = '[hidden], [aria-hidden="true"], dialog:not([open]), .sr-only, option, .tooltip';
  const shown = (el) => {
    // checkVisibility also sees a closed <details>' content (content-visibility: hidden)
    if (!el.checkVisibility({ opacityProperty: true, visibilityProperty: true, contentVisibilityAuto: true })) return false;
    const r = el.getBoundingClientRect();
    return r.width > 1 && r.height > 1;
  };
  const ownText = (el) => [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
  const name = (el) => {
    const id = el.id ? '#' + el.id : '';
    const cls = el.classList.length ? '.' + [...el.classList].join('.') : '';
    const text = (el.getAttribute('aria-label') || el.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 30);
    return `<${el.tagName.toLowerCase()}${id}${cls}> "${text}"`;
  };
  const boxes = [];
  for (const el of root.querySelectorAll('*')) {
    if (el.closest(SKIP) || !shown(el)) continue;
    if (el.parentElement && el.parentElement.closest(PLOT)) continue;  // inside a plot
    const r = el.getBoundingClientRect();
    if (r.right <= 0 || r.bottom <= 0) continue;  // parked off-screen on purpose (a skip link until focused)
    const control = el.matches('button, input, select, textarea, a, summary, label, [tabindex], ' + PLOT);
    if (!control && !ownText(el)) continue;
    if (el.parentElement && el.parentElement.closest('button, a, summary, label, select')) continue;
    boxes.push({ el, r });
  }
  const problems = [];
  const W = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > W + 1)
    problems.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} px wide in a ${W} px window`);
  const TOL = 2;
  for (let a = 0; a < boxes.length; a++) {
    const { el, r } = boxes[a];
    if (r.right > W + TOL || r.left < -TOL) problems.push(`${name(el)} sticks out of the window (${Math.round(r.left)}..${Math.round(r.right)} of ${W})`);
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const s = getComputedStyle(p);
      if (s.overflowX === 'visible' && s.overflowY === 'visible') continue;
      if (s.overflowX === 'auto' || s.overflowX === 'scroll' || s.overflowY === 'auto' || s.overflowY === 'scroll') break;
      const q = p.getBoundingClientRect();
      if (r.left < q.left - TOL || r.right > q.right + TOL || r.top < q.top - TOL || r.bottom > q.bottom + TOL)
        problems.push(`${name(el)} is cut off by ${name(p)}`);
      break;
    }
    for (let b = a + 1; b < boxes.length; b++) {
      const o = boxes[b];
      if (el.contains(o.el) || o.el.contains(el)) continue;
      const dx = Math.min(r.right, o.r.right) - Math.max(r.left, o.r.left);
      const dy = Math.min(r.bottom, o.r.bottom) - Math.max(r.top, o.r.top);
      if (dx > TOL && dy > TOL) problems.push(`${name(el)} overlaps ${name(o.el)} (${Math.round(dx)}×${Math.round(dy)} px)`);
    }
  }
  return problems;
}
"""


def layout_problems(page, scope: str = "body") -> list[str]:
    """What overlaps or is cut off on the page as it is drawn now (empty when the layout holds)."""
    return page.evaluate(_JS, scope)
