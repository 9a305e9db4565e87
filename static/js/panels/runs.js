// Runs and export: save the run (`save` over the websocket), list saved runs (GET /api/runs),
// load one (apply its config), delete one; export plots as PNG and the run as JSON / CSV.
import { h, fmtPct, download, closeOnOutsideClick } from '../dom.js';
import { withConfig } from '../state.js';

const when = (seconds) => new Date(seconds * 1000).toLocaleString('en-GB', { dateStyle: 'short', timeStyle: 'short' });

/** `actions` = {save(name) -> Promise<id>, record(name) -> Promise<the `record` reply>, load(run, state),
 *  plots() -> {name: element}}. */
export function createRuns(menuRoot, store, actions) {
  const name = h('input', { type: 'text', id: 'run-name', maxlength: 100, placeholder: 'Name of this run', autocomplete: 'off' });
  const message = h('p', { class: 'runs-message', id: 'runs-message', role: 'status' });
  const list = h('ul', { class: 'runs-list', id: 'runs-list' });

  const say = (text, bad = false) => { message.textContent = text; message.classList.toggle('bad', bad); };

  const save = async (runName) => {
    try {
      const id = await actions.save(runName);
      say(`Saved “${runName}” as run #${id}.`);
      refresh();
      return id;
    } catch (err) {
      say(err.message, true);
      return null;
    }
  };

  // The run as it is now, downloaded without adding it to the saved runs.
  const exportRun = async (format) => {
    const runName = name.value.trim() || 'run';
    try {
      const reply = await actions.record(runName);
      const [body, type] = format === 'json' ? [JSON.stringify(reply.record, null, 1), 'application/json']
        : [reply.history_csv, 'text/csv'];
      const url = URL.createObjectURL(new Blob([body], { type }));
      download(url, `${runName.replace(/[^\w.-]+/g, '-')}.${format}`);
      setTimeout(() => URL.revokeObjectURL(url), 0);
    } catch (err) {
      say(err.message, true);
    }
  };

  const png = (key, filename) => () => {
    const el = actions.plots()[key];
    if (el && window.Plotly) window.Plotly.downloadImage(el, { format: 'png', filename, scale: 2 });
  };

  const form = h('form', { class: 'runs-save', onsubmit: (e) => {
    e.preventDefault();
    save(name.value.trim() || `run ${new Date().toLocaleString('en-GB')}`);
  } }, h('label', { for: 'run-name' }, 'Save this run'), h('div', { class: 'row' }, name, h('button', { type: 'submit', class: 'btn-small', id: 'save-run' }, 'Save')));

  const exports = h('div', { class: 'runs-export' }, h('span', { class: 'menu-heading' }, 'Export'),
    h('div', { class: 'row wrap' },
      h('button', { type: 'button', class: 'btn-small', id: 'export-boundary', onclick: png('boundary', 'decision-boundary') }, 'Boundary PNG'),
      h('button', { type: 'button', class: 'btn-small', id: 'export-cost', onclick: png('cost', 'cost') }, 'Cost PNG'),
      h('button', { type: 'button', class: 'btn-small', id: 'export-json', onclick: () => exportRun('json') }, 'Run JSON'),
      h('button', { type: 'button', class: 'btn-small', id: 'export-csv', onclick: () => exportRun('csv') }, 'History CSV')));

  const menu = h('details', { class: 'menu', id: 'runs-menu' }, h('summary', { class: 'btn-text' }, 'Runs'),
    h('div', { class: 'menu-pop runs-pop' }, form, message, exports,
      h('span', { class: 'menu-heading' }, 'Saved runs'), list));
  menuRoot.append(menu);

  async function refresh() {
    const r = await fetch('/api/runs');
    if (!r.ok) return;
    const runs = await r.json();
    if (!runs.length) { list.replaceChildren(h('li', { class: 'muted' }, 'No saved runs yet.')); return; }
    list.replaceChildren(...runs.map((run) => {
      const s = run.summary ?? {};
      const acc = s.dev?.accuracy ?? s.train?.accuracy;
      return h('li', { class: 'run-row', dataset: { run: run.id } },
        h('div', { class: 'run-info' }, h('span', { class: 'run-name' }, run.name),
          h('span', { class: 'muted tabular' }, `#${run.id} · ${when(run.created)}${s.iteration != null ? ` · it ${s.iteration}` : ''}${acc != null ? ` · ${fmtPct(acc)}` : ''}`)),
        h('button', { type: 'button', class: 'btn-small', onclick: () => load(run.id) }, 'Load'),
        h('a', { class: 'btn-small link', href: `/api/runs/${run.id}/export.json`, download: `run-${run.id}.json` }, 'JSON'),
        h('a', { class: 'btn-small link', href: `/api/runs/${run.id}/history.csv`, download: `run-${run.id}.csv` }, 'CSV'),
        h('button', { type: 'button', class: 'btn-mini', 'aria-label': `Delete run ${run.name}`, onclick: () => remove(run.id) }, '×'));
    }));
  }

  async function load(id) {
    const r = await fetch(`/api/runs/${id}`);
    if (!r.ok) { say(`Could not load run #${id} (${r.status})`, true); return; }
    const run = await r.json();
    actions.load(run, withConfig(store.state, run.config, { lesson: '' }));
    say(`Loaded “${run.name}”.`);
    menu.open = false;
  }

  async function remove(id) {
    await fetch(`/api/runs/${id}`, { method: 'DELETE' });
    refresh();
  }

  menu.addEventListener('toggle', () => { if (menu.open) refresh(); });
  closeOnOutsideClick(menu);
}
