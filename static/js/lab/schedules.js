// Learning-rate decay preview: α over epochs for every schedule of the engine (GET
// /api/lab/schedules), with the schedules' parameters as controls.
import { h, fmt } from '../dom.js';
import { resizeWithBox } from './paint.js';

const COLORS = { constant: '#5c6670', inverse_time: '#0072b2', exponential: '#e69f00', inverse_sqrt: '#009e73' };
const LABELS = { constant: 'constant', inverse_time: 'α₀ / (1 + rate·epoch)', exponential: 'base^epoch · α₀', inverse_sqrt: 'k / √(epoch+1) · α₀' };
const FIELDS = [
  { key: 'alpha0', label: 'α₀', min: 1e-6, max: 100 },
  { key: 'epochs', label: 'Epochs', min: 1, max: 1000, int: true },
  { key: 'decay_rate', label: 'Decay rate', min: 0, max: 1000 },
  { key: 'interval', label: 'Staircase every', min: 0, max: 100000, int: true, hint: '0 = off' },
  { key: 'base', label: 'Base', min: 1e-4, max: 1 },
  { key: 'k', label: 'k', min: 1e-4, max: 1000 },
];

export function createSchedules(root, store, plotStyle) {
  const plot = h('div', { class: 'lab-chart', id: 'schedule-plot', role: 'img', 'aria-label': 'Learning rate over epochs for each schedule' });
  const message = h('div', { class: 'field-error', role: 'alert', hidden: true });
  const inputs = {};
  const controls = FIELDS.map((f) => {
    const id = `sched-${f.key}`;
    const input = h('input', { type: 'text', id, inputmode: 'decimal', value: store.state[f.key], title: f.hint || '' });
    inputs[f.key] = input;
    input.addEventListener('change', () => {
      const v = Number(input.value.trim());
      const ok = input.value.trim() !== '' && Number.isFinite(v) && v >= f.min && v <= f.max && (!f.int || Number.isInteger(v));
      input.closest('.field').classList.toggle('invalid', !ok);
      if (!ok) { show(`${f.label} must be ${f.int ? 'a whole number' : 'a number'} in [${f.min}, ${f.max}]`); return; }
      store.update({ [f.key]: v });
    });
    return h('div', { class: 'field', dataset: { hide: f.key } }, h('label', { for: id }, f.label), input);
  });
  root.append(h('div', { class: 'lab-preview-controls' }, controls), message, plot);
  resizeWithBox(plot);

  function show(text) { message.textContent = text || ''; message.hidden = !text; }

  let timer = null;
  async function refresh() {
    const s = store.state;
    const query = new URLSearchParams({ alpha0: s.alpha0, epochs: s.epochs, decay_rate: s.decay_rate,
      interval: s.interval > 0 ? s.interval : '', base: s.base, k: s.k });
    const response = await fetch(`/api/lab/schedules?${query}`);
    const body = await response.json();
    if (!response.ok) {
      show(`${body.field}: ${body.message}`);
      inputs[body.field]?.closest('.field').classList.add('invalid');
      return;
    }
    show(null);
    for (const input of Object.values(inputs)) input.closest('.field').classList.remove('invalid');
    const data = body.schedules.map((sch) => ({
      type: 'scatter', mode: 'lines', x: body.epochs, y: sch.alpha, name: LABELS[sch.name],
      line: { color: COLORS[sch.name], width: 2.2, shape: s.interval > 0 && sch.name === 'inverse_time' ? 'hv' : 'linear' },
      hovertemplate: `${sch.formula}<br>epoch %{x}: α = %{y:.4g}<extra></extra>`,
    }));
    Plotly.react(plot, data, {
      ...plotStyle, uirevision: 'schedules',
      xaxis: { ...plotStyle.xaxis, title: { text: 'epoch' } },
      yaxis: { ...plotStyle.yaxis, title: { text: 'α' }, rangemode: 'tozero' },
    }, { displaylogo: false, responsive: true, displayModeBar: false });
  }

  store.subscribe((changed) => {
    if (!FIELDS.some((f) => changed.includes(f.key))) return;
    clearTimeout(timer);
    timer = setTimeout(refresh, 120);
  });
  return { refresh };
}
