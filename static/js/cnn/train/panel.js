// The Live ConvNet (the CNN lab's second section, #cnn-train): trains a network on digits or shapes
// in the server's worker processes over /ws/cnn (docs/protocol.md "CNN lab") and draws each frame:
// cost and accuracy curves (train, dev), every layer's filters and feature maps for the chosen
// example (click a thumbnail to choose), the dev confusion matrix, misclassified examples, and the
// parameters per layer beside what a dense layer between the same volumes would need.
// Settings live in the page's hash (state.js: net, dataset, optimizer, alpha, l2, keep_prob,
// batch_norm, batch_size, init, seed, example); α, λ and keep_prob change live, the rest restarts.
import { h, fmtInt, fmtPct } from '../../dom.js';
import { icon } from '../../panels/controls.js';
import { Connection, socketUrl } from '../../socket.js';
import { plotFont, resizeWithContainer } from '../../plots.js';
import { TRAIN_CURVE, DEV_CURVE } from '../../colors.js';
import { ARCHITECTURES, DATASETS, OPTIMIZERS, BATCH_SIZES, INITS, trainConfig, speedOf, RESTART_KEYS, LIVE_KEYS } from './presets.js';
import { greyCanvas, divergingCanvas, absMax } from './draw.js';

const shapeText = (s) => s.join('×');

function select(store, key, label, options, parse = String) {
  const id = `train-${key}`;
  const el = h('select', { id, onchange: (e) => store.update({ [key]: parse(e.target.value) }) },
    Object.entries(options).map(([value, text]) => h('option', { value }, text)));
  return { field: h('div', { class: 'field', dataset: { hide: key } }, h('label', { for: id }, label), el),
    sync: (s) => { el.value = String(s[key]); } };
}

function number(store, key, label, { min, max, step, title }) {
  const id = `train-${key}`;
  const el = h('input', { type: 'number', id, min, max, step, title, onchange: (e) => {
    const x = Number(e.target.value);
    const ok = e.target.value !== '' && Number.isFinite(x) && x >= min && x <= max;
    el.classList.toggle('invalid', !ok);
    if (ok) store.update({ [key]: x });
  } });
  return { field: h('div', { class: 'field', dataset: { hide: key } }, h('label', { for: id }, label), el),
    sync: (s) => { if (document.activeElement !== el) { el.value = String(s[key]); el.classList.remove('invalid'); } } };
}

/** A layer's one-line description, e.g. "conv 3×3 ×8, same". */
function layerName(row) {
  const s = row.spec;
  if (row.type === 'conv') return `conv ${s.size}×${s.size} ×${s.filters}, ${s.padding === 'same' ? 'same' : s.padding === 'valid' ? 'valid' : `p = ${s.padding}`}${s.stride > 1 ? `, s = ${s.stride}` : ''}`;
  if (row.type === 'pool') return `${s.mode} pool ${s.size}×${s.size}, s = ${s.stride ?? s.size}`;
  if (row.type === 'residual') return `residual block (2 convs ${s.size}×${s.size})`;
  if (row.type === 'dense') return `dense ${row.out_shape[0]}`;
  if (row.type === 'output') return `softmax ${row.out_shape[0]}`;
  return row.type;
}

export function createTrainPanel(section, root, store) {
  section.hidden = false;
  const conn = new Connection(socketUrl('/ws/cnn'));
  let data = null;        // the session's `data` message (layers, gallery)
  let playing = false;
  let status = 'connecting';
  let curves = { it: [], trainCost: [], devCost: [], trainAcc: [], devAcc: [] };
  let configured = false;

  // ------------------------------------------------------------ settings and transport
  const fields = [
    select(store, 'dataset', 'Data', DATASETS),
    select(store, 'net', 'Architecture', Object.fromEntries(Object.entries(ARCHITECTURES).map(([k, a]) => [k, a.label]))),
    select(store, 'optimizer', 'Optimizer', OPTIMIZERS),
    number(store, 'alpha', 'Learning rate α', { min: 1e-5, max: 10, step: 'any', title: 'α, changes live' }),
    number(store, 'l2', 'L2 λ', { min: 0, max: 100, step: 'any', title: 'λ of the L2 penalty, changes live' }),
    number(store, 'keep_prob', 'Dropout keep_prob', { min: 0.05, max: 1, step: 0.05, title: 'after every dense layer, changes live' }),
    select(store, 'batch_size', 'Batch size', Object.fromEntries(BATCH_SIZES.map((b) => [b, String(b)])), Number),
    select(store, 'init', 'Initialization', INITS),
  ];
  const bn = h('input', { type: 'checkbox', id: 'train-batch_norm', onchange: (e) => store.update({ batch_norm: e.target.checked }) });
  const bnField = h('label', { class: 'lab-start', dataset: { hide: 'batch_norm' } }, bn, 'Batch norm');
  const playBtn = h('button', { class: 'btn-play', id: 'train-play', type: 'button', title: 'Train / pause the network', 'aria-label': 'Train', onclick: () => toggle() }, icon('play'));
  const stepBtn = h('button', { class: 'btn-round', id: 'train-step', type: 'button', title: 'Train one epoch', 'aria-label': 'One epoch', onclick: () => { playing = false; conn.send({ type: 'step', epochs: 1 }); } }, icon('step'));
  const resetBtn = h('button', { class: 'btn-round', id: 'train-reset', type: 'button', title: 'New weights, iteration 0', 'aria-label': 'Reset', onclick: () => { clearCurves(); conn.send({ type: 'reset' }); } }, icon('reset'));
  const counters = h('p', { class: 'cnn-train-counters', id: 'train-counters', 'aria-live': 'off' }, 'Connecting…');
  const error = h('p', { class: 'cnn-train-error', id: 'train-error', role: 'alert', hidden: true });
  const setup = h('div', { class: 'column cnn-train-setup' },
    h('div', { class: 'transport cnn-train-transport', dataset: { hide: 'train_transport' } }, resetBtn, playBtn, stepBtn),
    counters, error, ...fields.map((f) => f.field), bnField);

  // ------------------------------------------------------------ curves
  const costPlot = h('div', { class: 'cnn-train-plot', id: 'train-cost' });
  const accPlot = h('div', { class: 'cnn-train-plot', id: 'train-accuracy' });
  const curvesCol = h('div', { class: 'column cnn-train-curves' }, h('h3', {}, 'Cost'), costPlot, h('h3', {}, 'Accuracy'), accPlot);

  // ------------------------------------------------------------ layers: filters and feature maps, parameter counts
  const layers = h('div', { class: 'cnn-layers', id: 'train-layers' });
  const paramsTable = h('table', { class: 'cnn-params-table', id: 'train-params' });
  const layersCol = h('div', { class: 'column cnn-train-net' },
    h('h3', {}, 'Layers: filters and feature maps of the chosen example'), layers,
    h('h3', { dataset: { hide: 'train_params' } }, 'Parameters per layer'), h('div', { dataset: { hide: 'train_params' } }, paramsTable));

  // ------------------------------------------------------------ example, confusion, misclassified
  const gallery = h('div', { class: 'cnn-gallery', id: 'train-gallery', role: 'listbox', 'aria-label': 'Dev examples: click one to show its feature maps' });
  const prediction = h('p', { class: 'cnn-prediction', id: 'train-prediction' });
  const confusion = h('table', { class: 'cnn-confusion', id: 'train-confusion' });
  const wrong = h('div', { class: 'cnn-wrong', id: 'train-wrong' });
  const sideCol = h('div', { class: 'column cnn-train-side' },
    h('div', { class: 'cnn-side-block' }, h('h3', {}, 'Example (click one)'), gallery, prediction,
      h('h3', {}, 'Misclassified (dev): predicted (true)'), wrong),
    h('div', { class: 'cnn-side-block' }, h('h3', {}, 'Confusion matrix (dev): rows true, columns predicted'), confusion));

  root.append(h('div', { class: 'cnn-train-grid' }, setup, curvesCol, layersCol, sideCol));
  resizeWithContainer(costPlot); // presenter mode and narrow windows change the column, not the window
  resizeWithContainer(accPlot);

  // ------------------------------------------------------------ socket
  const configure = () => {
    clearCurves();
    configured = false;
    playing = false;
    conn.send({ type: 'configure', config: trainConfig(store.state) });
    conn.send(speedOf(store.state));
  };
  conn.on('open', () => { configure(); });
  conn.on('close', () => { status = 'disconnected'; counters.textContent = 'Disconnected: reconnecting…'; });
  conn.on('message', (m) => {
    if (m.type === 'data') { data = m; drawStatic(); }
    else if (m.type === 'state') {
      status = m.status;
      playing = m.status === 'running';
      if (!configured) {
        configured = true;
        if (store.state.example) chooseExample(store.state.example);
      }
      showTransport();
    } else if (m.type === 'error') {
      error.hidden = false;
      error.textContent = m.field ? `${m.field}: ${m.message}` : m.message;
      error.dataset.field = m.field;
    } else if (m.type === 'diverged') {
      playing = false;
      error.hidden = false;
      error.textContent = m.hint;
      showTransport();
    } else if (m.type === 'done') {
      playing = false;
      showTransport();
    }
  });
  conn.on('frame', ({ header, arrays }) => {
    drawFrame(header, arrays);
    requestAnimationFrame(() => conn.send({ type: 'ready' }));
  });

  /** Show dev example k's feature maps: `set` it; while paused, `pause` again, whose reply is a
   *  frame of the current state (while training, the next frame shows it). */
  function chooseExample(k) {
    conn.send({ type: 'set', example: Math.min(k, data.sizes[data.example_set] - 1) });
    if (!playing) conn.send({ type: 'pause' });
  }

  function toggle() {
    if (!configured) return;
    if (playing) conn.send({ type: 'pause' });
    else if (['done', 'stopped_early', 'diverged'].includes(status)) { clearCurves(); conn.send({ type: 'reset' }); conn.send({ type: 'play' }); }
    else conn.send({ type: 'play' });
  }

  function showTransport() {
    playBtn.replaceChildren(icon(playing ? 'pause' : 'play'));
    playBtn.setAttribute('aria-label', playing ? 'Pause' : 'Train');
    section.dataset.status = status;
  }

  // ------------------------------------------------------------ drawing
  function clearCurves() {
    curves = { it: [], trainCost: [], devCost: [], trainAcc: [], devAcc: [] };
    error.hidden = true;
  }

  const cells = {}; // l -> {maps: div, filters: div}

  function drawStatic() {
    const rows = data.network.layers;
    layers.replaceChildren();
    for (const row of rows) {
      if (row.type === 'flatten' || row.type === 'output') continue;
      const maps = h('div', { class: 'cnn-maps', dataset: { layer: row.l } });
      const filters = h('div', { class: 'cnn-filters', dataset: { layer: row.l } });
      cells[row.l] = { maps, filters };
      layers.append(h('div', { class: 'cnn-layer', dataset: { layer: row.l, type: row.type } },
        h('p', { class: 'cnn-layer-name' }, h('strong', {}, `${row.l}. ${layerName(row)}`), ` → ${shapeText(row.out_shape)}`),
        row.type === 'conv' || row.type === 'residual' ? filters : null, maps));
    }
    paramsTable.replaceChildren(
      h('thead', {}, h('tr', {}, h('th', {}, 'layer'), h('th', {}, 'output'), h('th', {}, 'parameters'), h('th', { title: 'a dense layer joining the same input and output volumes' }, 'dense between the same volumes'))),
      h('tbody', {}, rows.map((r) => h('tr', { dataset: { layer: r.l, type: r.type, params: r.parameters, dense: r.dense } },
        h('td', {}, `${r.l}. ${layerName(r)}`), h('td', {}, shapeText(r.out_shape)),
        h('td', { class: 'num' }, fmtInt(r.parameters)), h('td', { class: 'num' }, r.type === 'flatten' ? '–' : fmtInt(r.dense)))),
      h('tr', { class: 'total', dataset: { params: data.network.parameters, dense: data.network.dense } }, h('td', {}, 'total'), h('td', {}, ''),
        h('td', { class: 'num' }, fmtInt(data.network.parameters)), h('td', { class: 'num' }, fmtInt(data.network.dense)))));
    const [k, rowsN, colsN] = data.gallery.shape;
    gallery.replaceChildren(...Array.from({ length: k }, (_, i) => {
      const b = h('button', { type: 'button', class: 'cnn-thumb', role: 'option', dataset: { index: i, label: data.gallery.labels[i] },
        title: `dev example ${i}: ${data.class_names[data.gallery.labels[i]]}`, onclick: () => store.update({ example: i }) },
      greyCanvas(data.gallery.pixels, i * rowsN * colsN, rowsN, colsN));
      return b;
    }));
    markChosen();
    confusion.replaceChildren();
    wrong.replaceChildren();
    prediction.textContent = '';
  }

  function markChosen() {
    for (const b of gallery.children) b.setAttribute('aria-selected', String(Number(b.dataset.index) === store.state.example));
  }

  function drawFrame(header, arrays) {
    if (!data) return;
    const info = header.cnn;
    status = header.status;
    counters.textContent = `epoch ${header.epoch} · iteration ${fmtInt(header.iteration)} · train ${fmtPct(header.train?.accuracy)} · dev ${fmtPct(header.dev?.accuracy)}`;
    section.dataset.iteration = header.iteration;
    // curves: a point per frame
    const last = curves.it[curves.it.length - 1];
    if (last === undefined || header.iteration > last) {
      curves.it.push(header.iteration);
      curves.trainCost.push(header.train?.cost ?? null);
      curves.devCost.push(header.dev?.cost ?? null);
      curves.trainAcc.push(header.train?.accuracy ?? null);
      curves.devAcc.push(header.dev?.accuracy ?? null);
    } else if (header.iteration < last) { clearCurves(); curves.it.push(header.iteration); curves.trainCost.push(header.train?.cost); curves.devCost.push(header.dev?.cost); curves.trainAcc.push(header.train?.accuracy); curves.devAcc.push(header.dev?.accuracy); }
    drawCurves();
    // layers
    for (const row of data.network.layers) {
      const c = cells[row.l];
      if (!c) continue;
      const maps = arrays[`maps${row.l}`];
      const units = arrays[`units${row.l}`];
      if (maps) {
        const [n, r, q] = maps.shape;
        const scale = absMax(maps.data);
        c.maps.replaceChildren(...Array.from({ length: n }, (_, i) => divergingCanvas(maps.data, i * r * q, r, q, scale, { title: `channel ${i + 1}` })));
      } else if (units) {
        c.maps.replaceChildren(divergingCanvas(units.data, 0, 1, units.shape[0], absMax(units.data), { class: 'cnn-px cnn-units', title: `${units.shape[0]} units` }));
      }
      const W = arrays[`W${row.l}`] || arrays[`W${row.l}_1`];
      if (W) {
        const [f, , nIn, nOut] = W.shape;
        const mean = new Float32Array(nOut * f * f); // filter c as an f×f picture: the mean over its input channels
        for (let a = 0; a < f; a++) for (let b = 0; b < f; b++) for (let k = 0; k < nIn; k++) for (let o = 0; o < nOut; o++) {
          mean[o * f * f + a * f + b] += W.data[((a * f + b) * nIn + k) * nOut + o] / nIn;
        }
        const scale = absMax(mean);
        c.filters.replaceChildren(...Array.from({ length: Math.min(nOut, 32) }, (_, o) => divergingCanvas(mean, o * f * f, f, f, scale, { title: `filter ${o + 1}` + (nIn > 1 ? ` (mean over ${nIn} input channels)` : '') })));
      }
    }
    // example and prediction
    store.state.example !== info.example && markChosen();
    const p = info.probabilities[info.prediction];
    prediction.replaceChildren(
      h('span', {}, `Example ${info.example}: true `), h('strong', {}, data.class_names[info.label]),
      h('span', {}, ' · predicted '), h('strong', { class: info.prediction === info.label ? 'right' : 'wrong' }, data.class_names[info.prediction]),
      h('span', {}, ` (${fmtPct(p)})`));
    prediction.dataset.example = info.example;
    prediction.dataset.label = info.label;
    prediction.dataset.prediction = info.prediction;
    drawConfusion(info.confusion);
    const thumbs = arrays.misclassified;
    wrong.replaceChildren(...info.misclassified.map((m, i) => {
      const [, r, q] = thumbs.shape;
      return h('button', { type: 'button', class: 'cnn-thumb cnn-wrong-thumb', dataset: { index: m.index }, title: `dev example ${m.index}: true ${data.class_names[m.true]}, predicted ${data.class_names[m.predicted]}`,
        onclick: () => store.update({ example: m.index }) },
      greyCanvas(thumbs.data, i * r * q, r, q), h('span', {}, `${data.class_names[m.predicted]} (${data.class_names[m.true]})`));
    }));
    if (!info.misclassified.length) wrong.append(h('p', { class: 'lab-note' }, 'None: every dev example is classified right.'));
    wrong.dataset.count = info.wrong;
  }

  function drawConfusion(matrix) {
    const names = data.class_names.map((n) => (n.length > 6 ? n.split(' ').map((w) => w[0]).join('') : n));
    const max = Math.max(1, ...matrix.map((r) => Math.max(...r)));
    confusion.dataset.total = matrix.flat().reduce((a, b) => a + b, 0);
    confusion.replaceChildren(
      h('thead', {}, h('tr', {}, h('th', { class: 'corner', title: 'rows: true class; columns: predicted' }, 'true╲pred'), names.map((n, j) => h('th', { scope: 'col', title: data.class_names[j] }, n)))),
      h('tbody', {}, matrix.map((row, i) => h('tr', {}, h('th', { scope: 'row', title: data.class_names[i] }, names[i]),
        row.map((v, j) => {
          const t = v / max;
          const bg = v === 0 ? 'transparent' : i === j ? `rgba(8,119,189,${0.15 + 0.75 * t})` : `rgba(245,147,34,${0.25 + 0.75 * t})`;
          return h('td', { dataset: { count: v }, style: `background:${bg};color:${i === j && t > 0.55 ? '#fff' : 'inherit'}` }, v ? String(v) : '');
        })))));
  }

  let revision = 0;
  function drawCurves() {
    if (!window.Plotly) return;
    revision += 1;
    const font = plotFont();
    // datarevision: the traces' arrays grow in place, so Plotly.react must be told they changed
    const layout = (title, yaxis) => ({ margin: { l: 44, r: 8, t: 6, b: 30 }, font, showlegend: true, uirevision: 'keep', datarevision: revision,
      legend: { orientation: 'h', x: 1, xanchor: 'right', y: 1.02, yanchor: 'bottom' },
      xaxis: { title: { text: 'iteration' }, automargin: true }, yaxis: { ...yaxis, automargin: true } });
    const line = (name, x, y, color) => ({ type: 'scatter', mode: 'lines', name, x, y, line: { color, width: 2 } });
    window.Plotly.react(costPlot, [line('train', curves.it, curves.trainCost, TRAIN_CURVE), line('dev', curves.it, curves.devCost, DEV_CURVE)],
      layout('cost', { rangemode: 'tozero' }), { displaylogo: false, responsive: true, displayModeBar: false });
    window.Plotly.react(accPlot, [line('train', curves.it, curves.trainAcc, TRAIN_CURVE), line('dev', curves.it, curves.devAcc, DEV_CURVE)],
      layout('accuracy', { range: [0, 1.02], tickformat: '.0%' }), { displaylogo: false, responsive: true, displayModeBar: false });
    costPlot.dataset.points = curves.it.length;
  }

  // ------------------------------------------------------------ store
  const sync = (s) => { for (const f of fields) f.sync(s); bn.checked = s.batch_norm; };
  sync(store.state);
  store.subscribe((changed, s) => {
    sync(s);
    if (changed.some((k) => RESTART_KEYS.includes(k))) { configure(); return; }
    const live = {};
    for (const k of changed) if (LIVE_KEYS[k]) live[LIVE_KEYS[k]] = s[k];
    if (Object.keys(live).length && configured) conn.send({ type: 'set', ...live });
    if (changed.includes('example') && configured && data) {
      chooseExample(s.example);
      markChosen();
    }
  });
  // The session (digits or shapes and a ConvNet in a worker) starts when the panel first comes
  // into view: a class opening /cnn for the explorer alone holds no training session.
  const seen = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) { seen.disconnect(); conn.connect(); }
  });
  seen.observe(section);
  return { toggle, conn, get playing() { return playing; } };
}

