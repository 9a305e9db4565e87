// The lab's lesson presets (GET /api/lab/presets): a menu in the top bar listing each preset's
// title and lesson; choosing one loads its state (defaults, then the preset's keys) and so the URL
// hash. The "default" preset is also what the lab starts from when the hash says nothing of a race.
import { h, closeOnOutsideClick } from '../dom.js';
import { defaults, presetState } from './state.js';

/** Fetch the presets: {default, presets: [{id, title, lesson, state}]}; an empty list when the
 *  server has none (an older server) or does not answer. */
export function loadPresets() {
  return fetch('/api/lab/presets')
    .then((r) => (r.ok ? r.json() : { default: null, presets: [] }))
    .catch(() => ({ default: null, presets: [] }));
}

/** The state a preset gives, keeping the browser-only keys of `current` (presenter, ghost, hidden). */
export function stateOfPreset(preset, current) {
  const base = { ...defaults(), presenter: current.presenter, ghost: current.ghost, hidden: current.hidden };
  return { ...presetState(preset.state ?? {}, base), preset: preset.id };
}

/** The menu (in `root`), filled from `list` once it is loaded. */
export function createPresetMenu(root, store, ready) {
  const items = h('ul', { class: 'menu-list', role: 'list' });
  const menu = h('details', { class: 'menu lab-presets', id: 'preset-menu', dataset: { hide: 'presets' } },
    h('summary', { class: 'btn-text', id: 'preset-button', title: 'Load a lesson: its surface, optimizers and settings' }, 'Lessons'),
    h('div', { class: 'menu-pop lab-presets-pop' }, items));
  root.append(menu);
  closeOnOutsideClick(menu);
  let presets = [];

  function mark() {
    for (const b of items.querySelectorAll('.menu-item')) b.setAttribute('aria-current', String(b.dataset.preset === store.state.preset));
  }

  ready.then(({ presets: list }) => {
    presets = list ?? [];
    menu.hidden = !presets.length;
    items.replaceChildren(...presets.map((p) => h('li', {},
      h('button', { type: 'button', class: 'menu-item', dataset: { preset: p.id }, onclick: () => {
        menu.open = false;
        store.update(stateOfPreset(p, store.state), { preset: true });
      } }, h('span', { class: 'menu-item-title' }, p.title), h('span', { class: 'menu-item-sub' }, p.lesson)))));
    mark();
  });
  store.subscribe((changed) => { if (changed.includes('preset')) mark(); });

  return {
    /** The loaded preset of `id` (undefined before they load or when there is none). */
    find(id) { return presets.find((p) => p.id === id); },
  };
}
