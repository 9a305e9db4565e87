// Top bar: play/pause/step/reset, speed, the epoch · iteration · learning-rate counters, the
// status and the presenter toggle; keyboard shortcuts (space = play/pause, → = step).
import { h, fmt } from '../dom.js';
import { control } from '../widgets.js';
import { icon, showStatus, presenterToggle, STATUS_TEXT } from './topbar.js';
export { icon, showStatus, presenterToggle };

const pad = (n, width) => String(Math.max(0, Math.round(n))).padStart(width, '0').replace(/\B(?=(\d{3})+(?!\d))/g, ',');

function counter(label, id) {
  return h('div', { class: 'counter' }, h('span', { class: 'counter-label', id: `${id}-label` }, label),
    h('output', { class: 'counter-value', id, 'aria-labelledby': `${id}-label` }, '–'));
}

/** Build the transport and counters into `root`; `actions` = {togglePlay, step, reset}. */
export function createControls(root, store, actions) {
  const play = h('button', { class: 'btn-play', id: 'play', type: 'button', title: 'Play / pause (space)', 'aria-label': 'Play', onclick: actions.togglePlay }, icon('play'));
  const step = h('button', { class: 'btn-round', id: 'step', type: 'button', title: 'Step one iteration (→)', 'aria-label': 'Step', onclick: actions.step }, icon('step'));
  const reset = h('button', { class: 'btn-round', id: 'reset', type: 'button', title: 'Reset the weights', 'aria-label': 'Reset', onclick: actions.reset }, icon('reset'));
  const status = h('span', { class: 'status', id: 'status', role: 'status' }, STATUS_TEXT.connecting);
  const epoch = counter('Epoch', 'epoch');
  const iteration = counter('Iteration', 'iteration');
  const lr = counter('Learning rate', 'lr');
  const speed = control(store, 'speed', { label: 'Speed', className: 'field-inline' });
  root.append(
    h('div', { class: 'transport' }, reset, play, step, speed),
    h('div', { class: 'counters' }, epoch, iteration, lr, status),
  );

  document.addEventListener('keydown', (event) => {
    const t = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (t.closest && t.closest('input, select, textarea, [contenteditable], dialog')) return;
    if (event.key === ' ' && !t.closest('button, a')) {
      event.preventDefault();
      actions.togglePlay();
    } else if (event.key === 'ArrowRight') {
      event.preventDefault();
      actions.step();
    }
  });

  const playTitle = play.title;
  let outcome = null; // how the finished run ended (the server's `outcome`)
  let current = 'connecting';
  const showOutcome = () => {
    const ended = outcome && (current === 'done' || current === 'stopped_early');
    play.title = ended ? `${outcome.play} (space)` : playTitle;
    if (ended) play.setAttribute('aria-label', 'Start over from iteration 0');
    status.title = ended ? outcome.message : '';
  };
  return {
    setStatus(value) {
      current = value;
      showStatus(play, status, value);
      showOutcome();
    },
    /** A finished run (the server's `outcome`, or null): the play button and the status pill
     *  say what Play does now (start over from iteration 0) and why the run ended. */
    setOutcome(value) {
      outcome = value;
      showOutcome();
    },
    /** Epoch, iteration and α (a missing one keeps its value); a diverged run's are those of the
     *  blow-up: `diverged` = {iteration, restored_iteration} marks the iteration counter. */
    setCounters({ epoch: e, iteration: i, learning_rate: rate, diverged = null }) {
      if (e != null) epoch.lastChild.textContent = pad(e, 6);
      if (i != null) iteration.lastChild.textContent = pad(i, 6);
      if (rate != null) lr.lastChild.textContent = fmt(rate, 3);
      iteration.classList.toggle('diverged', Boolean(diverged));
      iteration.title = diverged ? `Diverged at iteration ${diverged.iteration}`
        + (diverged.restored_iteration != null ? `; the weights of iteration ${diverged.restored_iteration} are kept` : '') : '';
    },
  };
}

