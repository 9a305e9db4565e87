// The race table: per optimizer its learning rate, current cost J (J − J* on hover), updates made and the step at which it reached the tolerance (or that it diverged).
// Its numbers change at most ~15 times a second (faster is unreadable and costs layout at 60
// frames/s); the last frame's values are always shown.
import { h, fmt, fmtInt } from '../dom.js';

const EVERY_MS = 66;

const STATUS_TEXT = { running: 'racing…', converged: 'converged', diverged: 'diverged', stopped: 'step limit' };

export function createResults(root) {
  const body = h('tbody');
  const caption = h('p', { class: 'lab-note', id: 'results-caption' });
  root.append(
    h('table', { class: 'lab-results', id: 'results' },
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Optimizer'), h('th', { scope: 'col', class: 'num' }, 'α'),
        h('th', { scope: 'col', class: 'num' }, 'Cost J'),
        h('th', { scope: 'col', class: 'num' }, 'Steps'), h('th', { scope: 'col', class: 'num', title: 'first step with J − J* below the tolerance' }, 'To tol.'))),
      body),
    caption,
  );
  let rows = new Map();
  const latest = new Map(); // racer id -> its newest path entry not shown yet
  let timer = null;
  let shownAt = 0;

  function show() {
    timer = null;
    shownAt = performance.now();
    for (const p of latest.values()) {
      const r = rows.get(p.id);
      if (!r) continue;
      r.row.dataset.status = p.status;
      r.cells.lr.textContent = fmt(p.learning_rate, 3);
      r.cells.cost.textContent = fmt(p.cost, 5);
      r.cells.cost.title = `J − J* = ${fmt(Math.max(0, p.gap), 3)}`;
      r.cells.steps.textContent = fmtInt(p.steps);
      r.cells.tol.textContent = p.steps_to_tolerance !== null && p.steps_to_tolerance !== undefined
        ? fmtInt(p.steps_to_tolerance) : p.steps === 0 && p.status === 'running' ? '–' : STATUS_TEXT[p.status] ?? p.status;
      r.cells.tol.title = p.reason || '';
    }
    latest.clear();
  }

  return {
    setRacers(optimizers, names, tolerance) {
      rows = new Map();
      latest.clear();
      body.replaceChildren(...optimizers.map((o) => {
        const cells = {
          lr: h('td', { class: 'num' }, fmt(o.learning_rate, 3)),
          cost: h('td', { class: 'num' }, '–'),
          steps: h('td', { class: 'num' }, '0'), tol: h('td', { class: 'num' }, '–'),
        };
        const row = h('tr', { dataset: { id: o.id, status: 'running' }, style: `--swatch:${o.color}` },
          h('th', { scope: 'row' }, h('span', { class: 'swatch', 'aria-hidden': 'true' }), ' ', names[o.id]),
          cells.lr, cells.cost, cells.steps, cells.tol);
        rows.set(o.id, { row, cells });
        return row;
      }));
      caption.textContent = `"To tol.": the first step with J − J* < ${fmt(tolerance)} (J* = the minimum's cost).`;
    },
    setLearningRate(id, value) {
      const r = rows.get(id);
      if (r) r.cells.lr.textContent = fmt(value, 3);
    },
    frame(msg) {
      for (const p of msg.paths) latest.set(p.id, p);
      if (timer) return;
      const wait = EVERY_MS - (performance.now() - shownAt);
      if (wait <= 0) show(); else timer = setTimeout(show, wait);
    },
  };
}
