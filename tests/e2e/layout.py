"""Layout checks for the browser tests: what a user sees overlapping or cut off, from bounding boxes.

`layout_problems(page)` lists, in words, every pair of visible controls or texts whose boxes
overlap where they can be seen (inside the boxes that clip or scroll them), unless one lies in a
floating layer drawn over the other (an open menu, a modal dialog, an error bubble); every one
that sticks out of the window, out of a box that clips it or, left or above, out of reach of the
box that scrolls it; and a page that scrolls sideways. A plot (Plotly's or a canvas) counts as
one box: its inside is its own business.
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
    // what can be seen of it: its box inside every box that clips or scrolls it (an item of a
    // scrolled menu, a panel's content below the fold of its column); null if nothing
    let v = { left: r.left, top: r.top, right: r.right, bottom: r.bottom };
    for (let p = el.parentElement; p && p !== document.body && v; p = p.parentElement) {
      const s = getComputedStyle(p);
      if (s.overflowX === 'visible' && s.overflowY === 'visible') continue;
      const q = p.getBoundingClientRect();
      v = { left: Math.max(v.left, q.left), top: Math.max(v.top, q.top), right: Math.min(v.right, q.right), bottom: Math.min(v.bottom, q.bottom) };
      if (v.right - v.left <= 1 || v.bottom - v.top <= 1) v = null;
    }
    // the parts seen: a text that flows over several lines (display: inline) is one box per line,
    // not the rectangle around them all (a run-in title and the text after it do not overlap)
    const lines = getComputedStyle(el).display === 'inline' ? [...el.getClientRects()] : [r];
    const parts = !v ? [] : lines.map((q) => ({ left: Math.max(q.left, v.left), top: Math.max(q.top, v.top),
      right: Math.min(q.right, v.right), bottom: Math.min(q.bottom, v.bottom) }))
      .filter((q) => q.right - q.left > 1 && q.bottom - q.top > 1);
    boxes.push({ el, r, parts });
  }
  // A floating layer lies over the page on purpose (an open menu, a modal dialog, an error
  // bubble, a room's cover): what it hides is covered, not overlapped. One of two overlapping
  // boxes must be in such a layer that the other is not in, and the layer must be what is drawn
  // on top in the middle of the overlap (elementFromPoint); boxes inside one layer are checked
  // against each other as usual.
  const layerOf = (el) => {
    for (let p = el; p && p !== document.body; p = p.parentElement) {
      if (p.matches(':modal')) return p;
      const s = getComputedStyle(p);
      if ((s.position === 'absolute' || s.position === 'fixed') && s.zIndex !== 'auto') {
        const alpha = s.backgroundColor.startsWith('rgba') ? parseFloat(s.backgroundColor.split(',')[3]) : 1;
        if (alpha >= 0.5 || s.backdropFilter !== 'none') return p;
      }
    }
    return null;
  };
  for (const box of boxes) box.layer = layerOf(box.el);
  const covered = (p, q, x, y) => {
    if (p.layer === q.layer) return false;
    const top = document.elementFromPoint(x, y);
    if (!top) return false;
    return (p.layer && p.layer.contains(top) && !p.layer.contains(q.el))
      || (q.layer && q.layer.contains(top) && !q.layer.contains(p.el));
  };
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
      const q = p.getBoundingClientRect();
      if (s.overflowX === 'auto' || s.overflowX === 'scroll' || s.overflowY === 'auto' || s.overflowY === 'scroll') {
        // scrolling reaches what sticks out right or below, never what sticks out left or above
        if (r.left < q.left - p.scrollLeft - TOL || r.top < q.top - p.scrollTop - TOL)
          problems.push(`${name(el)} is cut off by ${name(p)} (out of its reach, left or above)`);
        break;
      }
      if (r.left < q.left - TOL || r.right > q.right + TOL || r.top < q.top - TOL || r.bottom > q.bottom + TOL)
        problems.push(`${name(el)} is cut off by ${name(p)}`);
      break;
    }
    for (let b = a + 1; b < boxes.length; b++) {
      const o = boxes[b];
      if (el.contains(o.el) || o.el.contains(el)) continue;
      overlap: for (const u of boxes[a].parts) {
        for (const w of o.parts) {
          const dx = Math.min(u.right, w.right) - Math.max(u.left, w.left);
          const dy = Math.min(u.bottom, w.bottom) - Math.max(u.top, w.top);
          if (dx > TOL && dy > TOL && !covered(boxes[a], o, Math.max(u.left, w.left) + dx / 2, Math.max(u.top, w.top) + dy / 2)) {
            problems.push(`${name(el)} overlaps ${name(o.el)} (${Math.round(dx)}×${Math.round(dy)} px)`);
            break overlap;
          }
        }
      }
    }
  }
  return problems;
}
"""


def layout_problems(page, scope: str = "body") -> list[str]:
    """What overlaps or is cut off on the page as it is drawn now (empty when the layout holds)."""
    return page.evaluate(_JS, scope)
