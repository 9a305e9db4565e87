// Banners under the top bar: divergence (with the server's hint), lost connection (with
// reconnect) and errors that name no particular control. One banner per kind.
import { h } from '../dom.js';

export function createBanners(root) {
  const shown = new Map();

  return {
    /** Show (or replace) the banner of `kind`; `action` = {label, run} adds a button. */
    show(kind, title, text, action = null) {
      this.hide(kind);
      const el = h('div', { class: `banner banner-${kind}`, id: `banner-${kind}`, role: 'alert' },
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
