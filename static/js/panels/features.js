// FEATURES: the input column of the network view. For 2-D data each candidate feature (x1, x2,
// x1², x2², x1x2, sin) is a toggle with a thumbnail of its values over the plotting domain;
// for a CSV with more inputs the columns x1..xn are listed as they are.
import { h, subscript } from '../dom.js';
import { paintTable, absMax } from '../colors.js';
import { FEATURES } from '../state.js';

const T = 20; // thumbnail resolution, as the server's neuron grids
const LABEL = { x1: 'x₁', x2: 'x₂', x1_sq: 'x₁²', x2_sq: 'x₂²', x1x2: 'x₁x₂', sin_x1: 'sin(x₁)', sin_x2: 'sin(x₂)' };
const FN = {
  x1: (a) => a, x2: (a, b) => b, x1_sq: (a) => a * a, x2_sq: (a, b) => b * b,
  x1x2: (a, b) => a * b, sin_x1: (a) => Math.sin(a), sin_x2: (a, b) => Math.sin(b),
};

export const featureLabel = (name) => LABEL[name] ?? name.replace(/^x(\d+)$/, (_, d) => `x${subscript(d)}`);

/** The feature's values on a T×T grid over `domain` (row 0 = bottom). */
function featureGrid(name, [xmin, xmax, ymin, ymax]) {
  const grid = new Float32Array(T * T);
  for (let r = 0; r < T; r++) {
    const b = ymin + ((r + 0.5) / T) * (ymax - ymin);
    for (let c = 0; c < T; c++) grid[r * T + c] = FN[name](xmin + ((c + 0.5) / T) * (xmax - xmin), b);
  }
  return grid;
}

/** Build the features column into `column`; returns {nodes, render()}: nodes are the active
 *  inputs in network order ({name, el}), used as link sources. */
export function createFeatures(column, store) {
  let domain = [-6, 6, -6, 6];
  let nodes = [];

  const toggle = (name) => {
    const current = store.get('features');
    const next = current.includes(name) ? current.filter((f) => f !== name) : FEATURES.filter((f) => f === name || current.includes(f));
    if (next.length) store.update({ features: next });
  };

  const render = () => {
    const active = store.get('features');
    const twoD = active.every((f) => FEATURES.includes(f));
    const names = twoD ? FEATURES : active;
    const hide = store.isHidden('features');
    const els = {};
    const list = names.map((name) => {
      const on = active.includes(name);
      const canvas = h('canvas', { width: T, height: T, class: 'thumb', 'aria-hidden': 'true' });
      if (twoD) {
        const grid = featureGrid(name, domain);
        const m = absMax(grid);
        paintTable(canvas, grid, T, T, -m, m);
      }
      const el = h(twoD && !hide ? 'button' : 'div', {
        class: `node feature ${on ? 'on' : 'off'}`, type: twoD && !hide ? 'button' : null,
        'aria-pressed': twoD ? String(on) : null, dataset: { feature: name },
        title: twoD ? `${featureLabel(name)}: click to ${on ? 'remove' : 'add'}` : featureLabel(name),
        onclick: twoD && !hide ? () => toggle(name) : null,
      }, h('span', { class: 'node-label' }, featureLabel(name)), twoD ? canvas : null);
      els[name] = el;
      return el;
    });
    column.replaceChildren(h('div', { class: 'col-head' }, h('span', { class: 'col-title' }, 'Features')),
      h('div', { class: 'nodes' }, list));
    nodes = active.map((name) => ({ name, el: els[name] }));
  };

  render();
  return {
    get nodes() { return nodes; },
    render,
    /** The plotting domain [xmin, xmax, ymin, ymax] of the data (from the server's state). */
    setDomain(d) {
      if (d && d.join() !== domain.join()) { domain = d.slice(); render(); return true; }
      return false;
    },
  };
}
