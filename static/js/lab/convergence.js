// Convergence chart: J − J* (log scale) against the step, one line per optimizer, sampled once per
// frame from the frames' current cost — the race's result in one picture.
import { h } from '../dom.js';

const FLOOR = 1e-16; // J − J* below this is drawn at the floor (log axis)

export function createConvergence(root, plotStyle) {
  const plot = h('div', { class: 'lab-convergence', id: 'convergence-plot', role: 'img', 'aria-label': 'Cost gap J − J* against the step for each optimizer' });
  root.append(h('h3', {}, 'Gap to the minimum J − J* against the step'), plot);
  let series = [];
  let pending = false;

  function draw() {
    pending = false;
    if (!window.Plotly) return;
    Plotly.react(plot, series.map((s) => ({
      type: 'scatter', mode: 'lines', x: s.x, y: s.y, name: s.name, line: { color: s.color, width: 2 },
      hovertemplate: `${s.name}<br>step %{x}: J − J* = %{y:.3g}<extra></extra>`,
    })), {
      ...plotStyle, showlegend: false, margin: { l: 52, r: 8, t: 6, b: 22 }, datarevision: Math.random(),
      xaxis: { ...plotStyle.xaxis, rangemode: 'tozero', ticksuffix: ' ' },
      yaxis: { ...plotStyle.yaxis, type: 'log', exponentformat: 'power' },
    }, { displaylogo: false, responsive: true, displayModeBar: false });
  }

  const schedule = () => { if (!pending) { pending = true; requestAnimationFrame(draw); } };

  return {
    setRacers(optimizers, names) {
      series = optimizers.map((o) => ({ id: o.id, name: names[o.id], color: o.color, x: [], y: [] }));
      schedule();
    },
    frame(msg) {
      for (const p of msg.paths) {
        const s = series.find((x) => x.id === p.id);
        if (!s) continue;
        if (p.points_from === 0) { s.x = []; s.y = []; }
        if (s.x.length && s.x[s.x.length - 1] === p.steps) continue; // nothing new
        s.x.push(p.steps);
        s.y.push(Math.max(p.gap, FLOOR));
      }
      schedule();
    },
  };
}
