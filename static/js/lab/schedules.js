// Learning-rate decay preview: α over epochs for every schedule of the engine, computed by the
// server with the engine's formula (GET /api/lab/schedules; each curve comes with its formula's
// text), with the schedules' parameters as controls (their ranges: the query's schema).
import { h, fmt } from '../dom.js';
import { resizeWithBox } from './paint.js';
import { field, range, inRange, rangeText } from './schema.js';

const COLORS = { constant: '#5c6670', inverse_time: '#0072b2', exponential: '#e69f00', inverse_sqrt: '#009e73' };
const FIELDS = [
  { key: 'alpha0', label: 'α₀' },
  { key: 'epochs', label: 'Epochs' },
  { key: 'decay_rate', label: 'Decay rate' },
  { key: 'interval', label: 'Staircase every', zero: true, hint: '0 = off' },
  { key: 'base', label: 'Base' },
  { key: 'k', label: 'k' },
].map((f) => ({ ...f, range: range(field('SchedulePreview', f.key)) }));

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
      const ok = input.value.trim() !== '' && ((f.zero && v === 0) || inRange(f.range, v));
      input.closest('.field').classList.toggle('invalid', !ok);
      if (!ok) { show(`${f.label} must be ${f.range.integer ? 'a whole number' : 'a number'} in ${rangeText(f.range)}${f.zero ? ' (or 0: off)' : ''}`); return; }
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
      type: 'scatter', mode: 'lines', x: body.epochs, y: sch.alpha,
      name: sch.name === 'constant' ? 'constant' : sch.formula.replace(/^α = /, ''), // the server's formula
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
