// The table of trials: one row per finished trial, sortable (by the metric, best first, unless
// another column header is clicked); diverged trials say so; a row opens that trial's config in
// the playground (a new tab, so the sweep carries on here).
import { h, fmt } from '../dom.js';
import { metricInfo } from './plots.js';

export function createTable(root, { labelOf, linkOf }) {
  let sweep = null;
  let trials = [];
  let bestTrial = null;
  let sort = { key: 'metric', dir: 0 }; // dir 0: best first (the metric's own order); 1 / -1 ascending / descending

  function reset(next) {
    sweep = next;
    trials = [];
    sort = { key: 'metric', dir: 0 };
    draw();
  }

  function update(list, best) {
    trials = list;
    bestTrial = best?.trial ?? null;
    draw();
  }

  function columns() {
    const metric = metricInfo(sweep.metric);
    return [
      { key: 'trial', label: '#', value: (t) => t.trial, text: (t) => String(t.trial) },
      { key: 'metric', label: metric.label, value: (t) => (t.status === 'diverged' ? null : metric.value(t)), text: (t) => (t.status === 'diverged' ? 'diverged' : metric.format(metric.value(t))), metric },
      ...Object.keys(sweep.space).map((path) => ({ key: path, label: labelOf(path), value: (t) => t.params[path],
        text: (t) => (typeof t.params[path] === 'number' ? fmt(t.params[path], 3) : Array.isArray(t.params[path]) ? t.params[path].join('-') : String(t.params[path])) })),
      ...(sweep.refine?.rounds ? [{ key: 'round', label: 'round', value: (t) => t.round, text: (t) => String(t.round ?? 0) }] : []),
      { key: 'seconds', label: 's', value: (t) => t.seconds, text: (t) => (t.seconds == null ? '–' : t.seconds.toFixed(t.seconds < 10 ? 2 : 1)), secondary: true },
    ];
  }

  function sorted(cols) {
    const col = cols.find((c) => c.key === sort.key) ?? cols[1];
    const dir = sort.dir || (col.metric ? (col.metric.higher ? -1 : 1) : 1);
    const key = (t) => {
      const v = col.value(t);
      return v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v)) ? null : v;
    };
    return trials.slice().sort((a, b) => {
      const x = key(a);
      const y = key(b);
      if (x === null || y === null) return (x === null) - (y === null) || a.trial - b.trial; // no value: last
      const cmp = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
      return dir * cmp || a.trial - b.trial;
    });
  }

  function header(col) {
    const active = sort.key === col.key;
    const order = active ? (sort.dir || (col.metric?.higher ? -1 : 1)) : 0;
    const button = h('button', { type: 'button', class: 'th-sort', title: `Sort by ${col.label}`,
      onclick: () => { sort = active ? { key: col.key, dir: -(order || 1) } : { key: col.key, dir: col.metric ? 0 : 1 }; draw(); } },
    col.label, h('span', { class: 'sort-mark', 'aria-hidden': 'true' }, active ? (order < 0 ? '▼' : '▲') : ''));
    return h('th', { scope: 'col', class: col.secondary ? 'secondary' : null, 'aria-sort': active ? (order < 0 ? 'descending' : 'ascending') : 'none' }, button);
  }

  function draw() {
    if (!sweep) { root.replaceChildren(h('p', { class: 'empty-note muted' }, 'No trials yet.')); return; }
    const cols = columns();
    const rows = sorted(cols).map((t) => {
      const href = linkOf(t);
      const open = () => { if (href) window.open(href, '_blank', 'noopener'); };
      const cells = cols.map((c, i) => {
        const text = c.text(t);
        if (i === 0) return h('td', {}, href ? h('a', { href, target: '_blank', rel: 'noopener', title: `Open trial ${t.trial} in the playground`, onclick: (e) => e.stopPropagation() }, text) : text);
        return h('td', { class: [c.metric ? 'metric' : '', c.secondary ? 'secondary' : ''].join(' ').trim() || null }, text);
      });
      return h('tr', { class: [t.status === 'diverged' ? 'diverged' : '', t.trial === bestTrial ? 'best' : ''].join(' ').trim() || null,
        dataset: { trial: t.trial, status: t.status }, onclick: open, title: href ? `Open trial ${t.trial} in the playground` : null }, cells);
    });
    const table = h('table', { class: 'trials-table', id: 'trials-table' },
      h('thead', {}, h('tr', {}, cols.map(header))),
      h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: cols.length, class: 'muted' }, 'Waiting for the first trial…'))));
    root.replaceChildren(table);
  }

  draw();
  return { reset, update };
}
