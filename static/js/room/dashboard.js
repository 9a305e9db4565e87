// The teacher's class dashboard: one card per student from the room's `roster` (every 0.5 s) and
// `thumbnails` frames: boundary thumbnail, name (always as text), status (diverged in red),
// cost and train/dev accuracy. Sortable (by dev accuracy it is a leaderboard), names can be
// anonymized for the projector, a click spotlights that student's run to the class.
// A lab room's cards (`lab`) show the race instead: each optimizer's steps and cost J.
import { h, fmt, fmtInt, fmtPct } from '../dom.js';
import { paintGrid, PALETTE, tint } from '../colors.js';

/** A multi-class boundary (class indices, row 0 = bottom): each class in its palette tint. */
function paintClasses(canvas, data, rows, cols) {
  canvas.width = cols; canvas.height = rows;
  const ctx = canvas.getContext('2d');
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      ctx.fillStyle = tint(PALETTE[Math.round(data[r * cols + c]) % PALETTE.length], 0.35);
      ctx.fillRect(c, rows - 1 - r, 1, 1);
    }
  }
}

const STATUS = { following: 'Following', idle: 'No run yet', ready: 'Ready', running: 'Training', paused: 'Paused',
  done: 'Finished', stopped_early: 'Stopped early', diverged: 'Diverged' };
const SORTS = {
  joined: ['Joining order', () => 0],
  dev: ['Dev accuracy (leaderboard)', (a, b) => rank(b.dev?.accuracy) - rank(a.dev?.accuracy)
    || rank(-(a.dev?.cost ?? Infinity)) - rank(-(b.dev?.cost ?? Infinity)) || 0],
  cost: ['Train cost (lowest first)', (a, b) => rank(-(b.train?.cost ?? Infinity)) - rank(-(a.train?.cost ?? Infinity))],
  name: ['Name', (a, b) => (a.name ?? '\uffff').localeCompare(b.name ?? '\uffff')],
  status: ['Status', (a, b) => Object.keys(STATUS).indexOf(b.status) - Object.keys(STATUS).indexOf(a.status)],
};
const bestCost = (s) => Math.min(...(s.race ?? []).filter((r) => r.status !== 'diverged').map((r) => r.cost), Infinity);
const LAB_SORTS = {
  joined: SORTS.joined,
  cost: ['Best cost J (lowest first)', (a, b) => rank(-bestCost(b)) - rank(-bestCost(a))],
  name: SORTS.name,
  status: SORTS.status,
};
const RACE_STATUS = { running: 'racing', converged: 'converged', diverged: 'diverged', stopped: 'step limit' };
const rank = (x) => (x == null || !Number.isFinite(x) ? -Infinity : x);
const hasRun = (s) => !['following', 'idle'].includes(s.status);

// The racers' short names (lab/state.js), read in a lab room only: a playground room does not
// load the lab's modules; a lab room's page has loaded them already (lab/app.js), so they are here
// before the first roster.
let SHORT_LABELS = {};

/** `actions.spotlight(student_id | null)` sends the spotlight. */
export function createDashboard(root, actions, { lab = false } = {}) {
  if (lab) import('../lab/state.js').then((m) => { SHORT_LABELS = m.SHORT_LABELS; });
  const sorts = lab ? LAB_SORTS : SORTS;
  const statusText = lab ? { ...STATUS, running: 'Racing' } : STATUS;
  root.classList.toggle('dash-lab', lab);
  let students = [];
  let spotlight = null;
  let sortKey = localStorage.getItem('nnp-dashboard-sort') || 'joined';
  if (!sorts[sortKey]) sortKey = 'joined';
  let anonymous = localStorage.getItem('nnp-dashboard-anonymous') === 'true';
  const cards = new Map(); // student_id -> {el, canvas, name, status, cost, train, dev, rank}

  const count = h('span', { class: 'dash-count', id: 'dash-count' }, 'No students yet');
  const sort = h('select', { id: 'dash-sort', onchange: () => { sortKey = sort.value; localStorage.setItem('nnp-dashboard-sort', sortKey); render(); } },
    ...Object.entries(sorts).map(([key, [label]]) => h('option', { value: key, selected: key === sortKey }, label)));
  const anon = h('input', { type: 'checkbox', id: 'dash-anonymize', checked: anonymous, onchange: () => {
    anonymous = anon.checked; localStorage.setItem('nnp-dashboard-anonymous', String(anonymous)); render();
  } });
  const spotText = h('span', { class: 'dash-spot-text', id: 'dash-spot-text' });
  const clear = h('button', { type: 'button', class: 'btn-small', id: 'dash-clear-spotlight', onclick: () => actions.spotlight(null) }, 'Clear spotlight');
  const spot = h('div', { class: 'dash-spot', id: 'dash-spot', role: 'status', hidden: true }, spotText, clear);
  const note = h('p', { class: 'dash-note', id: 'dash-note', role: 'status' });
  const grid = h('div', { class: 'dash-grid', id: 'dash-grid' });
  const empty = h('p', { class: 'dash-empty', id: 'dash-empty' }, 'Nobody has joined yet: show the invitation (the code and the QR code) on the projector.');
  root.append(
    h('div', { class: 'dash-head' },
      h('h2', { class: 'column-title' }, 'Class'), count,
      h('label', { class: 'dash-field', for: 'dash-sort' }, 'Sort by', sort),
      h('label', { class: 'dash-field', for: 'dash-anonymize' }, anon, 'Anonymize names'),
      spot),
    note, empty, grid);

  const displayName = (s) => (anonymous ? `Student ${s.student_id}` : (s.name || `Anonymous ${s.student_id}`));

  function card(s) {
    let c = cards.get(s.student_id);
    if (c) return c;
    const canvas = h('canvas', { class: 'dash-thumb', width: 20, height: 20, 'aria-hidden': 'true' });
    c = {
      canvas,
      rank: h('span', { class: 'dash-rank' }),
      name: h('span', { class: 'dash-name' }),
      status: h('span', { class: 'dash-status' }),
      cost: h('span', { class: 'dash-value' }), train: h('span', { class: 'dash-value' }), dev: h('span', { class: 'dash-value' }),
      race: h('span', { class: 'dash-race' }),
      painted: lab, // a race has no thumbnail
    };
    c.el = h('button', { type: 'button', class: 'dash-card', dataset: { studentId: String(s.student_id) },
      onclick: () => clickCard(s.student_id) },
    h('span', { class: 'dash-thumb-box' }, canvas, h('span', { class: 'dash-thumb-empty' }, 'no run')),
    h('span', { class: 'dash-info' },
      h('span', { class: 'dash-line' }, c.rank, c.name),
      c.status,
      // labels over values: three narrow columns fit the narrowest card
      lab ? c.race : h('span', { class: 'dash-stats' }, h('span', {}, 'cost'), h('span', {}, 'train'), h('span', {}, 'dev'), c.cost, c.train, c.dev)));
    cards.set(s.student_id, c);
    return c;
  }

  function clickCard(id) {
    const s = students.find((x) => x.student_id === id);
    if (!s) return;
    if (spotlight === id) { actions.spotlight(null); return; }
    if (!hasRun(s)) {
      note.textContent = `${displayName(s)} has no run of their own yet: switch the class to “Own” or ask them to fork.`;
      return;
    }
    note.textContent = '';
    actions.spotlight(id);
  }

  function render() {
    const order = students.slice();
    if (sortKey !== 'joined') order.sort((a, b) => sorts[sortKey][1](a, b) || a.student_id - b.student_id);
    const live = new Set(order.map((s) => s.student_id));
    for (const [id, c] of cards) if (!live.has(id)) { c.el.remove(); cards.delete(id); }
    order.forEach((s, i) => {
      const c = card(s);
      c.rank.textContent = sortKey === 'dev' && s.dev?.accuracy != null ? `${i + 1}.` : '';
      c.name.textContent = displayName(s); // plain text, whatever the name holds
      c.el.title = `${displayName(s)}: ${hasRun(s) ? 'click to show this run to the whole class' : 'no run of their own yet'}`;
      c.status.textContent = statusText[s.status] ?? s.status;
      if (lab) showRace(c.race, s.race);
      c.el.dataset.status = s.status;
      c.el.setAttribute('aria-pressed', String(spotlight === s.student_id));
      c.cost.textContent = s.status === 'diverged' ? '→ ∞' : fmt(s.train?.cost, 3); // blown up: its last cost is meaningless
      c.cost.title = s.train?.cost != null ? `train cost ${fmt(s.train.cost, 4)}` : '';
      c.train.textContent = fmtPct(s.train?.accuracy);
      c.dev.textContent = fmtPct(s.dev?.accuracy);
      c.el.classList.toggle('no-run', !hasRun(s) || !c.painted);
      if (grid.children[i] !== c.el) grid.insertBefore(c.el, grid.children[i] ?? null);
    });
    count.textContent = students.length ? `${students.length} student${students.length === 1 ? '' : 's'}` +
      ` · ${students.filter(hasRun).length} with a run` : 'No students yet';
    empty.hidden = students.length > 0;
    const spotlit = students.find((s) => s.student_id === spotlight);
    spot.hidden = spotlight == null;
    spotText.textContent = spotlit ? `Spotlight: ${displayName(spotlit)}` : 'Spotlight on';
  }

  /** A lab student's race: per optimizer its name, steps and cost (→ ∞ once diverged). */
  function showRace(el, race) {
    const head = race?.length ? [h('span', {}), h('span', { class: 'dash-race-head' }, 'steps'), h('span', { class: 'dash-race-head' }, 'cost J')] : [];
    el.replaceChildren(...head, ...(race ?? []).map((r) => h('span', { class: 'dash-racer', dataset: { status: r.status },
      title: `${SHORT_LABELS[r.name] ?? r.name}: ${fmtInt(r.steps)} steps, ${RACE_STATUS[r.status] ?? r.status}` },
    h('span', {}, SHORT_LABELS[r.name] ?? r.name), h('span', { class: 'dash-value' }, fmtInt(r.steps)),
    h('span', { class: 'dash-value' }, r.status === 'diverged' ? '→ ∞' : fmt(r.cost, 3)))));
  }

  return {
    /** A `roster` message. */
    update(roster) {
      students = roster.students;
      spotlight = roster.spotlight ?? null;
      render();
    },
    setSpotlight(id) {
      spotlight = id ?? null;
      render();
    },
    showError(message) { note.textContent = message; },
    /** A `thumbnails` frame: paint each student's boundary (probabilities 0..1 or class indices). */
    thumbnails({ header, arrays }) {
      for (const { student_id: id } of header.students) {
        const grid2 = arrays[`s${id}`];
        const c = cards.get(id) ?? card({ student_id: id });
        if (!grid2) continue;
        const [rows, cols] = grid2.shape;
        const { lo, hi } = header.arrays[`s${id}`];
        const probability = lo[0] >= 0 && hi[0] <= 1;
        const span = Math.max(Math.abs(lo[0]), Math.abs(hi[0]), 1e-9);
        if (lo[0] === 0 && hi[0] === 255) paintClasses(c.canvas, grid2.data, rows, cols); // class indices (docs/protocol.md)
        else paintGrid(c.canvas, grid2.data, rows, cols, probability ? (v) => 2 * v - 1 : (v) => v / span);
        c.painted = true;
        c.el.classList.toggle('no-run', false);
      }
    },
    get anonymous() { return anonymous; },
  };
}
