// NETWORK: hidden layers as columns of neurons, each with a live thumbnail of its output;
// +/− for layers and neurons; links whose width and colour follow the weight. Hovering a
// neuron shows its output on the big plot (actions.previewNeuron({index, label}) or null);
// clicking a link opens an editor for its weight (actions.setWeight). From the keyboard, every
// link has a focusable key at its middle (one tab stop for all: arrow keys move between links,
// Enter opens the editor). The links are painted on one canvas (a frame repaints it: a few
// hundred curves take well under a millisecond, where as many SVG paths changing their stroke
// made the browser restyle and repaint them all); invisible SVG paths over it take the mouse,
// and they and the canvas are rebuilt only when the structure or the size changes.
import { h, fmt, subscript } from '../dom.js';
import { diverging, cssRgb, paintTable, absMax, PALETTE } from '../colors.js';
import { createFeatures } from './features.js';
import { control, errorSlot } from '../widgets.js';

const UI_MAX_LAYERS = 6;
const UI_MAX_UNITS = 8;

// A link's stroke for its weight: 256 colours of the diverging scale (w/1.5 in [-1, 1]), as CSS
// strings made once.
const LINK_COLORS = Array.from({ length: 256 }, (_, i) => cssRgb(diverging(i / 127.5 - 1)));
const linkColor = (w) => LINK_COLORS[Math.max(0, Math.min(255, Math.round((w / 1.5 + 1) * 127.5)))];
const linkWidth = (w) => 0.6 + Math.min(Math.abs(w), 4) * 1.2;
const UNKNOWN = { stroke: '#cfd3d6', width: 1 }; // before the first frame's weights
const LINK_OPACITY = 0.8;
const linkName = (k, w) => `W[${k.l}] row ${k.i + 1}, col ${k.j + 1}${typeof w === 'number' ? ` = ${fmt(w)}` : ''}`;

const iconButton = (text, label, onclick) => h('button', { type: 'button', class: 'btn-mini', 'aria-label': label, title: label, onclick }, text);

export function createNetwork(root, store, actions) {
  let outputs = 1;            // units of the output layer (from the server's state)
  let kind = 'binary';
  let limits = { layers: UI_MAX_LAYERS, units: UI_MAX_UNITS };
  let links = [];             // {l, i, j, index, curve: [x0, y0, mx, x1, y1], hit, key, stroke, width}
  let neuronEls = [];         // hidden neurons in network order: {el, canvas, l, i}
  let outputEls = [];
  let weights = null;         // the latest frame's arrays: W1, b1, … as float32 {data, shape}

  const canvas = h('canvas', { class: 'links', 'aria-hidden': 'true' });
  const svg = h('svg:svg', { class: 'link-hits', 'aria-hidden': 'true' });
  const columns = h('div', { class: 'net-columns' });
  const keys = h('div', { class: 'link-keys', role: 'group', 'aria-label': 'Weights: arrow keys move between links, Enter edits one' });
  const editor = h('form', { class: 'weight-editor', hidden: true });
  const body = h('div', { class: 'net-body' }, canvas, svg, columns, keys, editor);
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
        const n = { canvas, l: l + 1, i };
        // its bias in the tooltip, written when it is about to show (not on every frame)
        const titled = () => { const b = entry(`b${n.l}`, i, 0); n.el.title = `Layer ${n.l}, neuron ${i + 1}${b !== undefined ? ` · bias ${fmt(b)}` : ''}`; };
        const el = h('div', { class: 'node neuron', tabindex: '0', dataset: { layer: l + 1, unit: i },
          'aria-label': `Layer ${l + 1}, neuron ${i + 1}: hover or focus to show its output`,
          onmouseenter: () => { titled(); actions.previewNeuron(preview); }, onmouseleave: () => actions.previewNeuron(null),
          onfocus: () => actions.previewNeuron(preview), onblur: () => actions.previewNeuron(null) }, canvas);
        n.el = el;
        neuronEls.push(n);
        return el;
      });
      const head = h('div', { class: 'col-head' },
        editable ? h('div', { class: 'unit-buttons' },
          iconButton('+', `Add a neuron to layer ${l + 1}`, () => setUnits(l, 1)),
          iconButton('−', `Remove a neuron from layer ${l + 1}`, () => setUnits(l, -1))) : null,
        // "8 neurons"; in narrow columns (many layers) "8" alone, the unit kept for screen readers
        h('span', { class: 'col-title', title: `${units} neuron${units === 1 ? '' : 's'}` },
          h('span', { class: 'col-count' }, String(units)), h('span', { class: 'col-unit' }, ` neuron${units === 1 ? '' : 's'}`)));
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
    const outCol = h('div', { class: 'net-col output-col' }, h('div', { class: 'col-head' },
      h('span', { class: 'col-title', title: 'Output' }, h('span', { class: 'col-unit' }, 'Output'), h('span', { class: 'col-short', 'aria-hidden': 'true' }, 'ŷ'))),
      h('div', { class: 'nodes' }, outputEls));
    columns.replaceChildren(featureCol, ...hiddenCols, outCol);
    requestAnimationFrame(layoutLinks);
  }

  /** Node size that fits the tallest column into the available height and every column, with
   *  room for its links, into the available width (at most the CSS size). Columns too narrow for
   *  "8 neurons" and the ± buttons side by side get compact headings (the count, buttons stacked). */
  function fitNodes() {
    const rem = parseFloat(getComputedStyle(document.documentElement).fontSize);
    const label = featureCol.querySelector('.node-label');
    const labelWidth = (label?.offsetWidth ?? 2.6 * rem) + 0.35 * rem;
    const slotWidth = (body.clientWidth - labelWidth) / columns.childElementCount; // features + hidden + output
    body.classList.toggle('compact', slotWidth < 4.6 * rem);
    const head = Math.max(0, ...[...columns.querySelectorAll('.col-head')].map((el) => el.offsetHeight));
    const tallest = Math.max(...[...columns.querySelectorAll('.nodes')].map((n) => n.childElementCount), 1);
    const slot = (body.clientHeight - head - 0.8 * rem) / tallest;
    const size = Math.max(14, Math.min(3.8 * rem, slot * 0.8, slotWidth * 0.64));
    const gap = Math.max(2, Math.min(0.6 * rem, slot - size));
    body.style.setProperty('--node', `${size.toFixed(1)}px`);
    body.style.setProperty('--node-gap', `${gap.toFixed(1)}px`);
    // every column centres its nodes on the tallest one, right under the headings
    body.style.setProperty('--nodes-height', `${(tallest * size + (tallest - 1) * gap).toFixed(1)}px`);
  }

  let focused = 0; // the link whose key is in the tab order (roving tabindex)

  /** (Re)create the link paths (and their keys) from the current node positions. */
  function layoutLinks() {
    fitNodes();
    const box = body.getBoundingClientRect();
    if (!box.width) return;
    svg.setAttribute('viewBox', `0 0 ${box.width} ${box.height}`);
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(box.width * dpr);
    canvas.height = Math.round(box.height * dpr);
    const layers = [features.nodes.map((n) => n.el)];
    for (const n of neuronEls) (layers[n.l] ??= []).push(n.el);
    layers.push(outputEls);
    const anchor = (el, side) => {
      const r = el.getBoundingClientRect();
      return [side === 'out' ? r.right - box.left : r.left - box.left, r.top + r.height / 2 - box.top];
    };
    const hadFocus = keys.contains(document.activeElement);
    links = [];
    for (let l = 1; l < layers.length; l++) {
      for (let i = 0; i < layers[l].length; i++) {
        for (let j = 0; j < layers[l - 1].length; j++) {
          const [x0, y0] = anchor(layers[l - 1][j], 'out');
          const [x1, y1] = anchor(layers[l][i], 'in');
          const mx = (x0 + x1) / 2;
          const d = `M${x0},${y0} C${mx},${y0} ${mx},${y1} ${x1},${y1}`;
          const k = { l, i, j, index: links.length, curve: [x0, y0, mx, x1, y1], stroke: null, width: null };
          k.hit = h('svg:path', { d, class: 'link-hit', dataset: { layer: l, row: i, col: j } });
          k.hit.append(h('svg:title', {}));
          k.hit.addEventListener('click', (event) => openEditor(k, event.clientX, event.clientY));
          // the tooltip names the weight when it is about to show (not on every frame)
          k.hit.addEventListener('pointerenter', () => { k.hit.firstChild.textContent = `${linkName(k, weightOf(l, i, j))} (click to edit)`; });
          k.key = h('button', { type: 'button', class: 'link-key', tabindex: '-1', dataset: { layer: l, row: i, col: j },
            style: `left: ${mx.toFixed(1)}px; top: ${((y0 + y1) / 2).toFixed(1)}px` });
          links.push(k);
        }
      }
    }
    focused = Math.min(focused, Math.max(links.length - 1, 0));
    if (links.length) links[focused].key.tabIndex = 0;
    svg.replaceChildren(...links.map((k) => k.hit));
    canvas.nnLinks = links; // what is painted, for tests: each link's {l, i, j, stroke, width}
    keys.replaceChildren(...links.map((k) => k.key));
    styleLinks();
    if (hadFocus && links.length) links[focused].key.focus();
  }

  /** Entry (i, j) of a frame's float32 array `name` (course shape rows × cols), or undefined. */
  const entry = (name, i, j) => {
    const a = weights?.[name];
    const cols = a?.shape[1];
    return a && i < a.shape[0] && j < cols ? a.data[i * cols + j] : undefined;
  };
  const weightOf = (l, i, j) => entry(`W${l}`, i, j);

  /** Paint every link, its colour and width from its weight (the focused one last, glowing). */
  function styleLinks() {
    const ctx = canvas.getContext('2d');
    const dpr = canvas.width / (body.clientWidth || 1);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.lineCap = 'round';
    ctx.globalAlpha = LINK_OPACITY;
    const keyFocused = links[focused] && document.activeElement === links[focused].key ? links[focused] : null;
    canvas.nnHighlighted = keyFocused; // for tests, as nnLinks
    for (const k of links) {
      const w = weightOf(k.l, k.i, k.j);
      const known = typeof w === 'number';
      k.stroke = known ? linkColor(w) : UNKNOWN.stroke;
      k.width = known ? linkWidth(w) : UNKNOWN.width;
      if (k !== keyFocused) strokeLink(ctx, k);
    }
    if (keyFocused) {
      ctx.globalAlpha = 1;
      ctx.shadowColor = getComputedStyle(body).getPropertyValue('--focus').trim() || '#ffb000';
      ctx.shadowBlur = 4;
      strokeLink(ctx, keyFocused);
      ctx.shadowBlur = 0;
      labelKey(keyFocused); // the focused link's value stays current
    }
  }

  function strokeLink(ctx, k) {
    const [x0, y0, mx, x1, y1] = k.curve;
    ctx.beginPath();
    ctx.moveTo(x0, y0);
    ctx.bezierCurveTo(mx, y0, mx, y1, x1, y1);
    ctx.strokeStyle = k.stroke;
    ctx.lineWidth = k.width;
    ctx.stroke();
  }

  function labelKey(k) {
    k.key.setAttribute('aria-label', `${linkName(k, weightOf(k.l, k.i, k.j))}. Enter to edit; arrow keys move between links`);
  }

  /** Keyboard: the links as one composite widget. Up/Down: the previous/next link of the same
   *  layer; Left/Right: the first link of the previous/next layer; Home/End; Enter opens the editor. */
  function moveFocus(to) {
    if (!links.length) return;
    const next = Math.max(0, Math.min(links.length - 1, to));
    links[focused].key.tabIndex = -1;
    focused = next;
    links[focused].key.tabIndex = 0;
    links[focused].key.focus();
  }
  keys.addEventListener('focusin', (e) => {
    const k = links.find((x) => x.key === e.target);
    if (!k) return;
    if (k.index !== focused) { links[focused].key.tabIndex = -1; focused = k.index; k.key.tabIndex = 0; }
    styleLinks(); // highlighted (and labelled) while its key has the focus
  });
  keys.addEventListener('focusout', () => requestAnimationFrame(styleLinks));
  keys.addEventListener('keydown', (e) => {
    const k = links[focused];
    if (!k || e.target !== k.key) return;
    const firstOf = (l) => links.findIndex((x) => x.l === l);
    const moves = {
      ArrowDown: () => (links[focused + 1]?.l === k.l ? focused + 1 : focused),
      ArrowUp: () => (links[focused - 1]?.l === k.l ? focused - 1 : focused),
      ArrowRight: () => (firstOf(k.l + 1) >= 0 ? firstOf(k.l + 1) : focused),
      ArrowLeft: () => (k.l > 1 ? firstOf(k.l - 1) : focused),
      Home: () => 0,
      End: () => links.length - 1,
    };
    if (moves[e.key]) { e.preventDefault(); e.stopPropagation(); moveFocus(moves[e.key]()); return; }
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      e.stopPropagation(); // space is play/pause elsewhere on the page
      const r = k.key.getBoundingClientRect();
      openEditor(k, r.left + r.width / 2, r.top + r.height / 2);
    }
  });

  let editing = null; // the link whose weight the editor shows

  function openEditor(k, clientX, clientY) {
    const { l, i, j } = k;
    const w = weightOf(l, i, j);
    if (typeof w !== 'number') return;
    editing = k;
    const box = body.getBoundingClientRect();
    const input = h('input', { type: 'text', inputmode: 'decimal', id: 'weight-value', value: fmt(w, 6), 'aria-label': 'Weight value' });
    const error = h('div', { class: 'field-error', role: 'alert', hidden: true });
    editor.replaceChildren(h('label', { for: 'weight-value' }, `W[${l}] row ${i + 1}, col ${j + 1}`), input,
      h('button', { type: 'submit', class: 'btn-small' }, 'Set'),
      h('button', { type: 'button', class: 'btn-mini', 'aria-label': 'Close', onclick: () => closeEditor() }, '×'), error);
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
    editor.style.left = `${Math.max(0, Math.min(clientX - box.left, box.width - 240))}px`;
    editor.style.top = `${Math.max(0, Math.min(clientY - box.top + 8, box.height - 70))}px`;
    editor.hidden = false;
    input.focus();
    input.select();
  }

  /** Close the editor; a keyboard user goes back to the link they were on. */
  function closeEditor() {
    const wasFocused = editor.contains(document.activeElement);
    editor.hidden = true;
    if (wasFocused && editing && links[editing.index] === editing) editing.key.focus();
    editing = null;
  }

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
        const sigmoid = activation() === 'sigmoid'; // outputs in (0, 1): 0.5 is the neutral middle
        for (let k = 0; k < neuronEls.length; k++) {
          const grid = neurons.data.subarray(k * t * t2, (k + 1) * t * t2);
          const m = sigmoid ? 0 : absMax(grid);
          paintTable(neuronEls[k].canvas, grid, t, t2, sigmoid ? 0 : -m, sigmoid ? 1 : m);
        }
      }
      const boundary = arrays.boundary;
      const canvas = outputEls[0]?.querySelector('canvas');
      if (boundary && canvas) {
        const [rows, cols] = boundary.shape;
        const m = kind === 'regression' ? absMax(boundary.data) : 0;
        paintTable(canvas, boundary.data, rows, cols, kind === 'regression' ? -m : 0, kind === 'regression' ? m : 1);
      }
    },
  };
}
