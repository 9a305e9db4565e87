// DATA column: dataset thumbnails (drawn from /api/datasets/previews), noise, classes,
// points, train/dev/test split, regenerate (new data seed) and CSV upload.
import { h, fmtPct, fmtInt } from '../dom.js';
import { classColor } from '../colors.js';
import { control } from '../widgets.js';
import { FEATURES } from '../state.js';

const TITLES = {
  circle: 'Circle', xor: 'XOR', gauss: 'Gaussians', spiral: 'Spiral', moons: 'Moons', flower: 'Flower',
  multi_spiral: 'Multi-spiral', multi_blobs: 'Blobs', reg_plane: 'Plane', reg_gauss: 'Bumps',
  csv: 'Your CSV',
};
const PREVIEW_POINTS = 200;
const PREVIEW_DECIMALS = 1;  // 0.1 of the ±6 domain is under a pixel of a 112-px tile

/** Points {x1, x2, y} of a preview (GET /api/datasets/{name}/preview) or of a split of `state`. */
const pointsOf = (p) => ({ x1: p.x1 ?? [], x2: p.x2 ?? [], y: p.y ?? [] });

/** Draw points on a thumbnail canvas, coloured by class (or value, for regression). */
export function drawPoints(canvas, pts, kind, classes, domain = null) {
  const size = canvas.width;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#f5f6f7';
  ctx.fillRect(0, 0, size, size);
  const ext = domain ?? (() => {
    const m = Math.max(1e-9, ...pts.x1.map(Math.abs), ...pts.x2.map(Math.abs));
    return [-m, m, -m, m];
  })();
  const ymax = kind === 'regression' ? Math.max(1e-9, ...pts.y.map(Math.abs)) : 1;
  const r = size / 48;
  for (let i = 0; i < pts.x1.length; i++) {
    const x = ((pts.x1[i] - ext[0]) / (ext[1] - ext[0])) * size;
    const y = size - ((pts.x2[i] - ext[2]) / (ext[3] - ext[2])) * size;
    ctx.fillStyle = classColor(kind, kind === 'regression' ? pts.y[i] / ymax : pts.y[i], classes);
    ctx.beginPath();
    ctx.arc(x, y, r, 0, 2 * Math.PI);
    ctx.fill();
  }
}

async function errorMessage(response) {
  const body = await response.json().catch(() => null);
  const d = body?.detail ?? body;
  if (Array.isArray(d)) return d.map((x) => x.msg ?? x.message ?? String(x)).join('; ');
  if (d && typeof d === 'object') return d.message ?? JSON.stringify(d);
  return d || `${response.status} ${response.statusText}`;
}

export function createDataPanel(root, store) {
  const tiles = h('div', { class: 'dataset-grid', role: 'radiogroup', 'aria-label': 'Dataset' });
  const kinds = {};
  const tileFor = {};

  const makeTile = (name, kind) => {
    const canvas = h('canvas', { width: 112, height: 112, 'aria-hidden': 'true' });
    const tile = h('button', { type: 'button', class: 'dataset-tile', role: 'radio', 'aria-checked': 'false',
      dataset: { name, kind: kind ?? '' }, title: `${TITLES[name] ?? name}${kind ? ` (${kind})` : ''}`,
      onclick: () => { if (name !== 'csv') store.update({ dataset: name, csv_id: '' }); } },
    canvas, h('span', { class: 'tile-label' }, TITLES[name] ?? name));
    tileFor[name] = { tile, canvas };
    kinds[name] = kind;
    return tile;
  };

  // One request draws every tile (GET /api/datasets/previews): ten replies' headers weighed as much as their points.
  const drawAll = async () => {
    const s = store.state;
    const q = new URLSearchParams({ noise: s.noise, seed: s.data_seed, classes: s.classes, n: PREVIEW_POINTS, decimals: PREVIEW_DECIMALS });
    const r = await fetch(`/api/datasets/previews?${q}`);
    if (!r.ok) return;
    for (const [name, body] of Object.entries(await r.json())) {
      if (tileFor[name]) drawPoints(tileFor[name].canvas, pointsOf(body), body.kind, s.classes, body.domain);
    }
  };

  fetch('/api/datasets').then((r) => r.json()).then((datasets) => {
    for (const d of datasets.filter((x) => x.name !== 'csv')) tiles.append(makeTile(d.name, d.kind));
    tiles.append(makeTile('csv', null));
    syncSelection(store.state);
    classes.refresh();
    drawAll().catch(() => {});
  });

  // A radio group: arrow keys move the choice (and must not reach the page's → = step).
  tiles.addEventListener('keydown', (event) => {
    const delta = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
    if (!delta) return;
    event.preventDefault();
    event.stopPropagation();
    const list = [...tiles.querySelectorAll('.dataset-tile:not([hidden])')];
    const next = list[(list.indexOf(document.activeElement) + delta + list.length) % list.length];
    next.click();
    next.focus();
  });

  const syncSelection = (state) => {
    for (const [name, { tile }] of Object.entries(tileFor)) {
      const on = name === state.dataset;
      tile.setAttribute('aria-checked', String(on));
      tile.tabIndex = on ? 0 : -1;
    }
    tileFor.csv && (tileFor.csv.tile.hidden = state.dataset !== 'csv');
  };

  // Regenerate = a new data seed, i.e. new points from the same generator.
  const regenerate = h('button', { type: 'button', class: 'btn-text', id: 'regenerate',
    onclick: () => store.update({ data_seed: Math.floor(Math.random() * 2 ** 31) }) }, 'Regenerate');

  const file = h('input', { type: 'file', id: 'csv-file', accept: '.csv,text/csv', class: 'visually-hidden' });
  const uploadInfo = h('div', { class: 'muted upload-info', id: 'csv-info' });
  const uploadError = h('div', { class: 'field-error', role: 'alert', id: 'csv-error', hidden: true });
  const upload = h('div', { class: 'upload' }, h('label', { for: 'csv-file', class: 'btn-text' }, 'Upload CSV'), file);
  file.addEventListener('change', async () => {
    const f = file.files[0];
    if (!f) return;
    uploadError.hidden = true;
    uploadInfo.textContent = `Uploading ${f.name}…`;
    try {
      const r = await fetch('/api/csv', { method: 'POST', body: await f.text(), headers: { 'Content-Type': 'text/csv' } });
      if (!r.ok) throw new Error(await errorMessage(r));
      const info = await r.json();
      uploadInfo.textContent = `${f.name}: ${fmtInt(info.rows)} rows, ${info.n_x} inputs, ${info.kind}`;
      const features = info.n_x === 2 ? ['x1', 'x2'] : Array.from({ length: info.n_x }, (_, i) => `x${i + 1}`);
      store.update({ dataset: 'csv', csv_id: String(info.id), features });
    } catch (err) {
      uploadInfo.textContent = '';
      uploadError.textContent = `${f.name}: ${err.message}`;
      uploadError.hidden = false;
    } finally {
      file.value = '';
    }
  });

  const isMulti = (s) => kinds[s.dataset] === 'multiclass';
  const classes = control(store, 'classes', { relevant: isMulti });
  root.append(
    tiles,
    control(store, 'noise', { range: { step: 0.05, show: (v) => fmtPct(v).replace('.0', '') }, relevant: (s) => s.dataset !== 'csv' }),
    classes,
    h('div', { class: 'field-pair' }, control(store, 'n', { relevant: (s) => s.dataset !== 'csv' }), control(store, 'split')),
    h('div', { class: 'row data-actions' }, regenerate, upload),
    uploadInfo, uploadError,
  );

  const sync = (state) => {
    regenerate.title = `New points from the same generator (data seed now ${state.data_seed})`;
    regenerate.hidden = state.dataset === 'csv' || store.isHidden('data_seed');
    upload.hidden = store.isHidden('csv_id');
    syncSelection(state);
  };
  sync(store.state);
  store.subscribe((changed, state) => {
    if (changed.some((k) => ['noise', 'classes', 'data_seed'].includes(k))) drawAll().catch(() => {});
    if (changed.includes('dataset') && state.dataset !== 'csv' && !state.features.every((f) => FEATURES.includes(f))) {
      store.update({ features: ['x1', 'x2'] });
    }
    if (changed.includes('csv_id')) uploadError.hidden = true;
    sync(state);
  });

  return {
    /** The server's data (state message): draws the uploaded CSV's tile. */
    setData(data) {
      if (store.state.dataset !== 'csv' || !tileFor.csv || !data?.train) return;
      drawPoints(tileFor.csv.canvas, pointsOf(data.train), data.kind, data.classes, data.domain);
    },
    /** Errors that name the CSV (e.g. an expired upload id) go next to the upload control. */
    showCsvError(message) {
      uploadError.textContent = message;
      uploadError.hidden = false;
    },
  };
}
