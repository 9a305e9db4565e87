// The room's full-page cover: the pause message, the join form, the end of a class. While it is
// shown the page behind it is inert (no control can be reached, by mouse or keyboard).
import { $, h } from '../dom.js';

const BEHIND = ['.topbar', '#room-bar', '#hyperparams', '#banners', '#lesson-card-root', '#main', '#dashboard', '#lab-main', '.lab-previews'];
const before = new Map(); // element -> its `inert` before the cover (a follower's controls stay inert)

/** Show `children` on the cover (a fresh card each time); `kind` styles it (pause, join, ended). */
export function showOverlay(kind, ...children) {
  const root = $('#room-overlay');
  root.dataset.kind = kind;
  root.replaceChildren(h('div', { class: `room-overlay-card overlay-${kind}`, role: kind === 'join' ? 'dialog' : 'alert', 'aria-modal': 'true' }, ...children));
  if (root.hidden) for (const sel of BEHIND) { const el = $(sel); if (el) { before.set(el, el.inert); el.inert = true; } }
  root.hidden = false;
  return root.firstChild;
}

export function hideOverlay() {
  const root = $('#room-overlay');
  if (root.hidden) return;
  root.hidden = true;
  root.replaceChildren();
  for (const [el, inert] of before) el.inert = inert;
  before.clear();
}

/** The class is over (closed by the teacher, refused join): a cover with a way back. */
export function showEnded(title, text) {
  showOverlay('ended', h('h2', {}, title), h('p', {}, text),
    h('a', { class: 'btn-text', href: '/' }, 'Open the playground on your own'));
}

/** How a room socket closed: 1000 = the server ended it on purpose (room closed, teacher link
 *  opened elsewhere), 1008 = join refused, 1013 = room full; these do not reconnect. */
export const FINAL_CLOSE = new Set([1000, 1008, 1013]);
