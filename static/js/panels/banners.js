// Banners under the top bar: divergence (with the server's hint), lost connection (with
// reconnect), errors, how a finished run ended and link values that were not understood.
// One banner per kind.
import { h } from '../dom.js';

export function createBanners(root) {
  const shown = new Map();

  return {
    /** Show (or replace) the banner of `kind`; `action` = {label, run} adds a button; `role`
     *  'status' for news that is not a problem (a finished run), 'alert' otherwise. */
    show(kind, title, text, action = null, { role = 'alert' } = {}) {
      this.hide(kind);
      const el = h('div', { class: `banner banner-${kind}`, id: `banner-${kind}`, role },
        h('strong', {}, title), h('span', { class: 'banner-text' }, text),
        action ? h('button', { type: 'button', class: 'btn-small', onclick: action.run }, action.label) : null,
        h('button', { type: 'button', class: 'btn-mini', 'aria-label': 'Dismiss', onclick: () => this.hide(kind) }, '×'));
      shown.set(kind, el);
      root.append(el);
    },
    hide(kind) {
      shown.get(kind)?.remove();
      shown.delete(kind);
    },
  };
}
