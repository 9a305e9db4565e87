// Lessons (GET /api/presets): a menu in the top bar; choosing one applies its config and shows
// its short explanation in a card. The lessons are fetched when first needed (the menu opens, the
// page's link names a lesson, a room's run is matched to one), not with the page's first load.
// The gradient-checking lesson has a button that sends `gradcheck`; optimizer lessons link to
// the optimizer lab (/lab).
import { h, fmt, closeOnOutsideClick } from '../dom.js';
import { withConfig, SCHEMA } from '../state.js';

// What makes a run a lesson's: its data and network (live keys such as α may change during it).
const LESSON_KEYS = SCHEMA.filter((e) => e.kind === 'reset' && e.key !== 'csv_id').map((e) => e.key);
const sameValue = (a, b) => JSON.stringify(a) === JSON.stringify(b);

const isOptimizerTopic = (p) => /optimi[sz]|momentum|rmsprop|adam|learning.?rate|decay|mini.?batch/i.test(p.topic ?? '');
const isGradcheck = (p) => /grad(ient)?[\s_-]*check/i.test(`${p.id} ${p.topic ?? ''} ${p.title ?? ''}`);

/** `menuRoot` gets the menu, `cardRoot` the lesson card; `actions.gradcheck()` sends the message. */
export function createLessons(menuRoot, cardRoot, store, actions) {
  let presets = [];
  const list = h('ul', { class: 'menu-list', role: 'list' });
  const menu = h('details', { class: 'menu', id: 'lesson-menu' },
    h('summary', { class: 'btn-text' }, 'Lessons'), h('div', { class: 'menu-pop lessons-pop' }, list));
  menuRoot.append(menu);

  // A lesson always starts afresh (new data, new weights, iteration 0), even when it differs
  // from the current run only in live keys (keep_prob, λ, …) or is the same lesson again.
  const apply = (p) => {
    store.update(withConfig(store.state, p.config, { lesson: p.id }), { replace: true, restart: true });
    menu.open = false;
  };

  const gradResult = h('p', { class: 'gradcheck-result', id: 'gradcheck-result', role: 'status', hidden: true });
  const card = h('article', { class: 'lesson-card', id: 'lesson-card', 'aria-live': 'polite' });
  cardRoot.append(card);

  const renderCard = () => {
    const p = presets.find((x) => x.id === store.get('lesson'));
    cardRoot.hidden = !p;
    if (!p) return;
    gradResult.hidden = true;
    const extras = [];
    if (isGradcheck(p)) {
      extras.push(h('button', { type: 'button', class: 'btn-small', id: 'gradcheck', onclick: () => {
        gradResult.hidden = false;
        gradResult.dataset.verdict = '';
        gradResult.textContent = 'Checking gradients…';
        actions.gradcheck();
      } }, 'Check gradients'));
    }
    if (isOptimizerTopic(p)) extras.push(h('a', { class: 'btn-small link', href: '/lab' }, 'Open the optimizer lab →'));
    card.replaceChildren(
      h('div', { class: 'lesson-body' },
        h('h2', { class: 'lesson-title' }, h('span', { class: 'lesson-topic' }, p.topic ?? 'Lesson'), p.title),
        h('p', { class: 'lesson-text' }, p.text), gradResult),
      ...(extras.length ? [h('div', { class: 'lesson-actions' }, extras)] : []),
      h('button', { type: 'button', class: 'btn-mini close', 'aria-label': 'Close the lesson', onclick: () => store.update({ lesson: '' }) }, '×'));
  };

  list.append(h('li', { class: 'muted' }, 'Loading the lessons…'));
  let loading = null;
  const load = () => (loading ??= fetch('/api/presets').then((r) => r.json()).then((lessons) => {
    presets = lessons;
    list.replaceChildren(...presets.map((p) => h('li', {},
      h('button', { type: 'button', class: 'menu-item', dataset: { lesson: p.id }, onclick: () => apply(p) },
        h('span', { class: 'menu-item-title' }, p.title), p.topic ? h('span', { class: 'menu-item-sub' }, p.topic) : null),
      isOptimizerTopic(p) ? h('a', { class: 'menu-item-link', href: '/lab', title: 'Explore this optimizer in the lab' }, 'Lab →') : null)));
    renderCard();
  }));
  menu.addEventListener('toggle', () => { if (menu.open) load(); });
  if (store.get('lesson')) load();

  store.subscribe((changed) => {
    if (!changed.includes('lesson')) return;
    renderCard();
    if (store.get('lesson')) load();
  });
  closeOnOutsideClick(menu);

  const matches = (p, state) => LESSON_KEYS.every((k) => sameValue(withConfig(state, p.config)[k], state[k]));

  return {
    /** Fetch the lessons (once); resolves when they are here. */
    load,
    /** The id of the lesson whose data and network `state` has: `current` when it still fits,
     *  else the first that does, else '' (a room page showing someone else's run). */
    match(state, current = '') {
      const now = presets.find((p) => p.id === current);
      if (now && matches(now, state)) return current;
      return presets.find((p) => matches(p, state))?.id ?? '';
    },
    /** The server's `gradcheck` reply: difference, verdict, message. */
    showGradcheck(reply) {
      gradResult.hidden = false;
      gradResult.dataset.verdict = reply.verdict ?? '';
      const message = reply.message ?? '';
      gradResult.textContent = message.includes('difference') ? message : `Relative difference ${fmt(reply.difference, 3)}: ${message || reply.verdict}`;
    },
    showGradcheckError(message) {
      gradResult.hidden = false;
      gradResult.dataset.verdict = 'error';
      gradResult.textContent = message;
    },
  };
}
