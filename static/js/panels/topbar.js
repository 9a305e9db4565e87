// The top bar's parts every page shares (transport icons, the status pill, the presenter toggle):
// apart from panels/controls.js so the lab, search and CNN pages load them without the playground's
// widgets, state and config schema.
import { h } from '../dom.js';

const ICONS = {
  play: 'M8 5v14l11-7z',
  pause: 'M6 5h4v14H6zM14 5h4v14h-4z',
  step: 'M6 5v14l9-7zM16 5h3v14h-3z',
  reset: 'M12 5V1L7 6l5 5V7a5 5 0 1 1-5 5H5a7 7 0 1 0 7-7z',
};

/** An inline SVG icon of the transport buttons (play, pause, step, reset). */
export const icon = (name) => h('svg:svg', { viewBox: '0 0 24 24', 'aria-hidden': 'true', class: 'icon' },
  h('svg:path', { d: ICONS[name] }));

export const STATUS_TEXT = {
  connecting: 'Connecting…', ready: 'Ready', running: 'Training', paused: 'Paused',
  diverged: 'Diverged', done: 'Finished', stopped_early: 'Stopped early', invalid: 'Invalid settings',
};

/** Show a session status on the play button (play or pause) and in the status pill, worded by `texts`. */
export function showStatus(play, pill, value, texts = STATUS_TEXT) {
  const running = value === 'running';
  play.replaceChildren(icon(running ? 'pause' : 'play'));
  play.setAttribute('aria-label', running ? 'Pause' : 'Play');
  play.classList.toggle('playing', running);
  pill.textContent = texts[value] ?? value;
  pill.dataset.status = value;
}

/** The presenter-mode toggle button, bound to the `presenter` state key. */
export function presenterToggle(store) {
  const button = h('button', { class: 'btn-text', id: 'presenter', type: 'button', 'aria-pressed': 'false', 'aria-label': 'Presenter',
    title: 'Large type and plots for a projector', onclick: () => store.update({ presenter: !store.get('presenter') }) },
  h('svg:svg', { viewBox: '0 0 24 24', class: 'icon', 'aria-hidden': 'true' },
    h('svg:path', { d: 'M3 4h18v12H3zM5 6v8h14V6zM11 17h2v2h4v2H7v-2h4z' })), h('span', { class: 'btn-label' }, 'Presenter'));
  const sync = (state) => {
    button.setAttribute('aria-pressed', String(state.presenter));
    document.documentElement.classList.toggle('presenter', state.presenter);
  };
  sync(store.state);
  store.subscribe((changed, state) => { if (changed.includes('presenter')) sync(state); });
  return button;
}
