// NETWORK: hidden layers as columns of neurons, each with a live thumbnail of its output;
// +/− for layers and neurons; SVG links whose width and colour follow the weight. Hovering a
// neuron shows its output on the big plot (actions.previewNeuron({index, label}) or null);
// clicking a link opens an editor for its weight (actions.setWeight).
import { h, fmt, subscript } from '../dom.js';
import { diverging, cssRgb, paintGrid, symmetricScale, PALETTE } from '../colors.js';
import { createFeatures } from './features.js';
import { control, errorSlot } from '../widgets.js';

const UI_MAX_LAYERS = 6;
const UI_MAX_UNITS = 8;

const iconButton = (text, label, onclick) => h('button', { type: 'button', class: 'btn-mini', 'aria-label': label, title: label, onclick }, text);

export function createNetwork(root, store, actions) {
  let outputs = 1;            // units of the output layer (from the server's state)
  let kind = 'binary';
  let limits = { layers: UI_MAX_LAYERS, units: UI_MAX_UNITS };
  let links = [];             // {l, i, j, src, dst, path, hit}
  let neuronEls = [];         // hidden neurons in network order: {el, canvas, l, i}
  let outputEls = [];
  let weights = null;         // the latest frame's arrays: W1, b1, … as float32 {data, shape}

  const svg = h('svg:svg', { class: 'links', 'aria-hidden': 'true' });
  const columns = h('div', { class: 'net-columns' });
  const editor = h('form', { class: 'weight-editor', hidden: true });
  const body = h('div', { class: 'net-body' }, svg, columns, editor);
  const layerCount = h('span', { class: 'col-title', id: 'layer-count' });
  const addLayer = iconButton('+', 'Add a hidden layer', () => {
    const hidden = store.get('hidden');
    if (hidden.length < limits.layers) store.update({ hidden: [...hidden, 2] });
  });
  const removeLayer = iconButton('−', 'Remove the last hidden layer', () => {
    const hidden = store.get('hidden');
    if (hidden.length) store.update({ hidden: hidden.slice(0, -1) });
  });
  const layerControls = h('div', { class: 'row', id: 'layer-controls' }, addLayer, removeLayer, layerCount);
  root.append(h('div', { class: 'net-header' }, layerControls,
    h('div', { class: 'row net-options' }, control(store, 'normalize', { label: 'Normalize inputs' }), control(store, 'output', { className: 'field-inline' }))),
  errorSlot('hidden'), errorSlot('features'), body);

  const featureCol = h('div', { class: 'net-col features-col' });
  const features = createFeatures(featureCol, store);

  const setUnits = (l, delta) => {
    const hidden = store.get('hidden').slice();
    hidden[l] = Math.max(1, Math.min(limits.units, hidden[l] + delta));
    store.update({ hidden });
  };

  function renderStructure() {
    features.render();
    const hidden = store.get('hidden');
    const editable = !store.isHidden('hidden');
    layerControls.hidden = !editable;
    layerCount.textContent = `${hidden.length} hidden layer${hidden.length === 1 ? '' : 's'}`;
    addLayer.disabled = hidden.length >= limits.layers;
    removeLayer.disabled = hidden.length === 0;
    neuronEls = [];
    const hiddenCols = hidden.map((units, l) => {
      const nodes = Array.from({ length: units }, (_, i) => {
        const canvas = h('canvas', { width: 20, height: 20, class: 'thumb', 'aria-hidden': 'true' });
        const preview = { index: neuronEls.length, label: `Layer ${l + 1}, neuron ${i + 1}` };
        const el = h('div', { class: 'node neuron', tabindex: '0', dataset: { layer: l + 1, unit: i },
          'aria-label': `Layer ${l + 1}, neuron ${i + 1}: hover or focus to show its output`,
          onmouseenter: () => actions.previewNeuron(preview), onmouseleave: () => actions.previewNeuron(null),
          onfocus: () => actions.previewNeuron(preview), onblur: () => actions.previewNeuron(null) }, canvas);
        neuronEls.push({ el, canvas, l: l + 1, i });
        return el;
      });
      const head = h('div', { class: 'col-head' },
        editable ? h('div', { class: 'unit-buttons' },
          iconButton('+', `Add a neuron to layer ${l + 1}`, () => setUnits(l, 1)),
          iconButton('−', `Remove a neuron from layer ${l + 1}`, () => setUnits(l, -1))) : null,
        h('span', { class: 'col-title' }, `${units} neuron${units === 1 ? '' : 's'}`));
      if (editable) head.querySelector('button').disabled = units >= limits.units;
      if (editable) head.querySelectorAll('button')[1].disabled = units <= 1;
      return h('div', { class: 'net-col layer-col', dataset: { layer: l + 1 } }, head, h('div', { class: 'nodes' }, nodes));
    });
    outputEls = Array.from({ length: outputs }, (_, i) => {
      const single = outputs === 1;
      return h('div', { class: `node output ${single ? '' : 'class-node'}`, title: single ? 'Output ŷ' : `ŷ${subscript(i + 1)} (class ${i})`,
        style: single ? null : `--node-color: ${PALETTE[i % PALETTE.length]}` },
      single ? h('canvas', { width: 20, height: 20, class: 'thumb', 'aria-hidden': 'true' }) : h('span', { class: 'node-label' }, `ŷ${subscript(i + 1)}`));
    });
    const outCol = h('div', { class: 'net-col output-col' }, h('div', { class: 'col-head' }, h('span', { class: 'col-title' }, 'Output')),
      h('div', { class: 'nodes' }, outputEls));
    columns.replaceChildren(featureCol, ...hiddenCols, outCol);
    requestAnimationFrame(layoutLinks);
  }

  /** Node size that fits the tallest column into the available height (at most the CSS size). */
  function fitNodes() {
    const head = columns.querySelector('.col-head')?.offsetHeight ?? 0;
    const tallest = Math.max(...[...columns.querySelectorAll('.nodes')].map((n) => n.childElementCount), 1);
    const rem = parseFloat(getComputedStyle(document.documentElement).fontSize);
    const slot = (body.clientHeight - head - 0.8 * rem) / tallest;
    const size = Math.max(14, Math.min(3.8 * rem, slot * 0.8));
    const gap = Math.max(2, Math.min(0.6 * rem, slot - size));
    body.style.setProperty('--node', `${size.toFixed(1)}px`);
    body.style.setProperty('--node-gap', `${gap.toFixed(1)}px`);
    // every column centres its nodes on the tallest one, right under the headings
    body.style.setProperty('--nodes-height', `${(tallest * size + (tallest - 1) * gap).toFixed(1)}px`);
  }

  /** (Re)create the link paths from the current node positions. */
  function layoutLinks() {
    fitNodes();
    const box = body.getBoundingClientRect();
    if (!box.width) return;
    svg.setAttribute('viewBox', `0 0 ${box.width} ${box.height}`);
    const layers = [features.nodes.map((n) => n.el)];
    for (const n of neuronEls) (layers[n.l] ??= []).push(n.el);
    layers.push(outputEls);
    const anchor = (el, side) => {
      const r = el.getBoundingClientRect();
      return [side === 'out' ? r.right - box.left : r.left - box.left, r.top + r.height / 2 - box.top];
    };
    links = [];
    const paths = [];
    for (let l = 1; l < layers.length; l++) {
      for (let i = 0; i < layers[l].length; i++) {
        for (let j = 0; j < layers[l - 1].length; j++) {
          const [x0, y0] = anchor(layers[l - 1][j], 'out');
          const [x1, y1] = anchor(layers[l][i], 'in');
          const mx = (x0 + x1) / 2;
          const d = `M${x0},${y0} C${mx},${y0} ${mx},${y1} ${x1},${y1}`;
          const path = h('svg:path', { d, class: 'link' });
          const hit = h('svg:path', { d, class: 'link-hit', dataset: { layer: l, row: i, col: j } });
          hit.append(h('svg:title', {}));
          hit.addEventListener('click', (event) => openEditor(l, i, j, event));
          links.push({ l, i, j, path, hit });
          paths.push(path);
        }
      }
    }
    svg.replaceChildren(...paths, ...links.map((k) => k.hit));
    styleLinks();
  }

  /** Entry (i, j) of a frame's float32 array `name` (course shape rows × cols), or undefined. */
  const entry = (name, i, j) => {
    const a = weights?.[name];
    const cols = a?.shape[1];
    return a && i < a.shape[0] && j < cols ? a.data[i * cols + j] : undefined;
  };
  const weightOf = (l, i, j) => entry(`W${l}`, i, j);

  function styleLinks() {
    for (const k of links) {
      const w = weightOf(k.l, k.i, k.j);
      const known = typeof w === 'number';
      k.path.setAttribute('stroke', known ? cssRgb(diverging(w / 1.5)) : '#cfd3d6');
      k.path.setAttribute('stroke-width', known ? (0.6 + Math.min(Math.abs(w), 4) * 1.2).toFixed(2) : '1');
      k.hit.firstChild.textContent = known ? `W[${k.l}] row ${k.i + 1}, col ${k.j + 1} = ${fmt(w)} (click to edit)` : '';
    }
  }

  function openEditor(l, i, j, event) {
    const w = weightOf(l, i, j);
    if (typeof w !== 'number') return;
    const box = body.getBoundingClientRect();
    const input = h('input', { type: 'text', inputmode: 'decimal', id: 'weight-value', value: fmt(w, 6), 'aria-label': 'Weight value' });
    const error = h('div', { class: 'field-error', role: 'alert', hidden: true });
    editor.replaceChildren(h('label', { for: 'weight-value' }, `W[${l}] row ${i + 1}, col ${j + 1}`), input,
      h('button', { type: 'submit', class: 'btn-small' }, 'Set'),
      h('button', { type: 'button', class: 'btn-mini', 'aria-label': 'Close', onclick: closeEditor }, '×'), error);
    editor.onsubmit = (e) => {
      e.preventDefault();
      const v = Number(input.value);
      if (input.value.trim() === '' || !Number.isFinite(v)) {
        error.textContent = 'enter a finite number';
        error.hidden = false;
        return;
      }
      actions.setWeight(l, i, j, v);
      closeEditor();
    };
    editor.onkeydown = (e) => { if (e.key === 'Escape') closeEditor(); };
    editor.style.left = `${Math.min(event.clientX - box.left, box.width - 240)}px`;
    editor.style.top = `${Math.min(event.clientY - box.top + 8, box.height - 70)}px`;
    editor.hidden = false;
    input.focus();
    input.select();
  }

  function closeEditor() { editor.hidden = true; }

  new ResizeObserver(() => requestAnimationFrame(layoutLinks)).observe(body);
  renderStructure();
  store.subscribe((changed) => {
    if (changed.includes('features') || changed.includes('hidden')) renderStructure();
  });

  const activation = () => store.get('activation');

  return {
    /** From the server's state: output units, data kind, plotting domain, limits. */
    setState({ network, data, limits: lim }) {
      const nOut = network?.layers?.at(-1) ?? 1;
      if (lim) limits = { layers: Math.min(UI_MAX_LAYERS, lim.max_hidden_layers ?? UI_MAX_LAYERS), units: Math.min(UI_MAX_UNITS, lim.max_neurons ?? UI_MAX_UNITS) };
      kind = data?.kind ?? kind;
      const domainChanged = features.setDomain(data?.domain);
      if (nOut !== outputs || domainChanged) { outputs = nOut; renderStructure(); }
    },
    /** A decoded frame: weights, neuron thumbnails, the output thumbnail. */
    update({ arrays }) {
      weights = arrays;
      styleLinks();
      const neurons = arrays.neurons;
      if (neurons && neurons.shape[0] === neuronEls.length) {
        const [, t, t2] = neurons.shape;
        neuronEls.forEach((n, k) => {
          const grid = neurons.data.subarray(k * t * t2, (k + 1) * t * t2);
          const toT = activation() === 'sigmoid' ? (v) => 2 * v - 1 : symmetricScale(grid);
          paintGrid(n.canvas, grid, t, t2, toT);
          const b = entry(`b${n.l}`, n.i, 0);
          n.el.title = `Layer ${n.l}, neuron ${n.i + 1}${b !== undefined ? ` · bias ${fmt(b)}` : ''}`;
        });
      }
      const boundary = arrays.boundary;
      const canvas = outputEls[0]?.querySelector('canvas');
      if (boundary && canvas) {
        const [rows, cols] = boundary.shape;
        const toT = kind === 'regression' ? symmetricScale(boundary.data) : (v) => 2 * v - 1;
        paintGrid(canvas, boundary.data, rows, cols, toT);
      }
    },
  };
}
