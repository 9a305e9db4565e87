// Exponentially-weighted-average explorer: a noisy daily temperature series and, for each β,
// v_t = β v_{t-1} + (1-β) θ_t with bias correction (solid) and without it (dotted), with the
// "≈ 1/(1-β) days" reading (GET /api/lab/ewma).
import { h } from '../dom.js';
import { resizeWithBox } from './paint.js';
import { field, range, inRange, rangeText } from './schema.js';

const COLORS = ['#d55e00', '#0072b2', '#009e73', '#cc79a7', '#e69f00', '#56b4e9'];
const MAX_BETAS = field('EwmaQuery', 'betas')?.maxItems ?? COLORS.length; // the query's limits
const BETA = range(field('EwmaQuery', 'betas', '*'));

export function createEwma(root, store, plotStyle) {
  const plot = h('div', { class: 'lab-chart', id: 'ewma-plot', role: 'img', 'aria-label': 'Temperature series and its exponentially weighted averages' });
  const chips = h('div', { class: 'lab-betas', role: 'group', 'aria-label': 'β values', dataset: { hide: 'betas' } });
  const readings = h('div', { class: 'lab-readings', id: 'ewma-readings', 'aria-live': 'polite' });
  const message = h('div', { class: 'field-error', role: 'alert', hidden: true });
  const uncorrected = h('input', { type: 'checkbox', id: 'ewma-uncorrected', checked: store.state.uncorrected,
    onchange: (e) => store.update({ uncorrected: e.target.checked }) });
  let seed = 0;
  root.append(
    h('div', { class: 'lab-preview-controls' }, chips,
      h('div', { class: 'field field-check', dataset: { hide: 'uncorrected' } }, uncorrected, h('label', { for: 'ewma-uncorrected' }, 'Also without bias correction')),
      h('button', { type: 'button', class: 'btn-small', id: 'ewma-reseed', onclick: () => { seed += 1; refresh(); } }, 'New noise')),
    message, readings, plot,
  );
  resizeWithBox(plot);

  function show(text) { message.textContent = text || ''; message.hidden = !text; }

  function renderChips() {
    const betas = store.state.betas;
    chips.replaceChildren(h('span', { class: 'lab-add-label' }, 'β'), ...betas.map((b, i) => {
      const input = h('input', { type: 'text', class: 'beta-input', id: `ewma-beta-${i}`, value: b, inputmode: 'decimal', 'aria-label': `β ${i + 1}`,
        style: `--swatch:${COLORS[i]}` });
      input.addEventListener('change', () => {
        const v = Number(input.value.trim());
        const ok = input.value.trim() !== '' && inRange(BETA, v);
        input.classList.toggle('invalid', !ok);
        if (!ok) { show(`β must be a number in ${rangeText(BETA)}`); return; }
        store.update({ betas: store.state.betas.map((x, j) => (j === i ? v : x)) });
      });
      const remove = h('button', { type: 'button', class: 'btn-mini', 'aria-label': `Remove β ${b}`, disabled: betas.length <= 1,
        onclick: () => store.update({ betas: store.state.betas.filter((_, j) => j !== i) }) }, '×');
      return h('span', { class: 'lab-chip', style: `--swatch:${COLORS[i]}` }, input, remove);
    }), h('button', { type: 'button', class: 'btn-small', id: 'ewma-add', disabled: betas.length >= MAX_BETAS,
      onclick: () => store.update({ betas: [...store.state.betas, 0.95] }) }, '+ β'));
  }

  async function refresh() {
    const s = store.state;
    const response = await fetch(`/api/lab/ewma?${new URLSearchParams({ betas: s.betas.join(','), seed })}`); // days: the query's default
    const body = await response.json();
    if (!response.ok) { show(`${body.field}: ${body.message}`); return; }
    show(null);
    for (const input of chips.querySelectorAll('input')) input.classList.remove('invalid');
    readings.replaceChildren(...body.curves.map((c, i) => h('span', { class: 'lab-reading', style: `--swatch:${COLORS[i]}` },
      h('span', { class: 'swatch', 'aria-hidden': 'true' }), `β = ${c.beta}: ${c.reading}`)));
    const data = [{
      type: 'scatter', mode: 'markers', x: body.day, y: body.temperature, name: 'daily θ',
      marker: { size: 4, color: 'rgba(92, 102, 112, 0.45)' }, hovertemplate: 'day %{x}: θ = %{y:.1f}<extra></extra>',
    }];
    body.curves.forEach((c, i) => {
      data.push({
        type: 'scatter', mode: 'lines', x: body.day, y: c.corrected, name: `β = ${c.beta} (${c.reading})`,
        line: { color: COLORS[i], width: 2.4 }, hovertemplate: `β = ${c.beta}, corrected<br>day %{x}: v = %{y:.2f}<extra></extra>`,
      });
      if (s.uncorrected) {
        data.push({
          type: 'scatter', mode: 'lines', x: body.day, y: c.uncorrected, name: `β = ${c.beta}, no correction`, showlegend: false,
          line: { color: COLORS[i], width: 1.6, dash: 'dot' }, hovertemplate: `β = ${c.beta}, not corrected<br>day %{x}: v = %{y:.2f}<extra></extra>`,
        });
      }
    });
    Plotly.react(plot, data, {
      ...plotStyle, uirevision: 'ewma',
      xaxis: { ...plotStyle.xaxis, title: { text: 'day' } },
      yaxis: { ...plotStyle.yaxis, title: { text: 'temperature θ (°C)' } },
    }, { displaylogo: false, responsive: true, displayModeBar: false });
  }

  renderChips();
  let timer = null;
  store.subscribe((changed) => {
    if (changed.includes('betas')) renderChips();
    if (!changed.includes('betas') && !changed.includes('uncorrected')) return;
    clearTimeout(timer);
    timer = setTimeout(refresh, 120);
  });
  return { refresh };
}
