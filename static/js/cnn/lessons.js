// The explorer's lessons: each is a preset of the explorer's settings and a claim about what it
// then shows (tests/e2e/test_cnn_page.py checks each claim's numbers on its own preset).
// Choosing one writes its settings into the URL hash; the page follows the hash.
import { h, closeOnOutsideClick } from '../dom.js';
import { defaults, serializeHash, TRAIN_KEYS } from './state.js';

export const LESSONS = [
  { id: 'edges', title: 'Edge detectors', summary: 'The vertical filter on the 6×6 example: 0 30 30 0 where the edge is',
    settings: { input: 'edge', filter: 'vertical', padding: 'valid', stride: 1, pool: 'none' },
    text: 'The vertical filter adds each row’s left pixel and subtracts its right one. Where the 3×3 window sees only 10s or only 0s that gives 0; where it straddles the edge, 10·1 + 10·0 + 0·(−1) = 10 per row, 30 in all. The 4×4 output is 0 30 30 0 in every row: a bright band where the image turns from light to dark. The horizontal filter finds no edge here: every output is 0.' },
  { id: 'padding', title: 'Padding keeps size', summary: '“Same” padding, p = (f − 1)/2: the 6×6 image gives a 6×6 output',
    settings: { input: 'edge', filter: 'vertical', padding: 'same', stride: 1, pool: 'none' },
    text: '“Same” padding adds p = (f − 1)/2 = 1 ring of zeros, so ⌊(6 + 2·1 − 3)/1⌋ + 1 = 6: the output keeps the 6×6 size and the border pixels are seen as often as the others. The zeros are an edge too: the left column of the output is −30 (−20 at the corners), where the window sees the padding’s 0s beside the 10s.' },
  { id: 'stride', title: 'Stride shrinks', summary: 'Stride 2: ⌊(6 + 0 − 3)/2⌋ + 1 = 2, a 2×2 output',
    settings: { input: 'edge', filter: 'vertical', padding: 'valid', stride: 2, pool: 'none' },
    text: 'With stride s = 2 the window jumps two pixels at a time: ⌊(6 + 0 − 3)/2⌋ + 1 = 2, a 2×2 output (0 30 in each row) instead of 4×4 — a quarter of the positions, and the edge is still found.' },
  { id: 'pooling', title: 'Pooling has no parameters', summary: 'Max pooling 2×2, s = 2 halves the map and learns nothing',
    settings: { input: 'edge', filter: 'vertical', padding: 'valid', stride: 1, pool: 'max', pool_f: 2, pool_s: 2 },
    text: 'Max pooling with f = 2, s = 2 keeps the largest value of each 2×2 block: the 4×4 map becomes 2×2 (⌊(4 − 2)/2⌋ + 1 = 2) and every block that touches the edge keeps its 30. f and s are fixed hyperparameters: pooling has nothing to learn, 0 parameters. Average pooling gives 15 in every cell instead.' },
  { id: 'sharing', title: 'Parameter sharing', summary: '10 filters 3×3×3: 280 parameters; a dense layer: 1.5 million',
    settings: { input: 'drawn', filter: 'vertical', padding: 'valid', stride: 1, pool: 'none', nc: 3, filters: 10 },
    text: 'One filter’s weights are used at every position of the image. 10 filters of 3×3 on 3 channels have 3·3·3·10 + 10 = 280 parameters, whatever the image size; a dense layer joining the same volumes (16·16·3 = 768 inputs to 14·14·10 = 1,960 units) needs 768·1,960 + 1,960 = 1,507,240.' },
  // the Live ConvNet's lessons (train/panel.js): claims checked by tests/server/test_cnn_lessons.py
  { id: 'one_by_one', title: '1×1 convolution shrinks channels', summary: 'A 1×1 conv turns 8×8×16 into 8×8×4 with 68 parameters',
    settings: { net: 'onebyone', dataset: 'digits', optimizer: 'adam', alpha: 0.003, batch_size: 32, init: 'he', batch_norm: false },
    text: 'Layer 2 is a 1×1 convolution with 4 filters: at every pixel it mixes the 16 channels of layer 1 into 4 (a small dense layer across channels, shared by every position). The size stays 8×8; the channels go 16 → 4 with 1·1·16·4 + 4 = 68 parameters. Everything after it sees a quarter of the volume: the dense layer after pooling needs 64·32 + 32 = 2,080 parameters instead of 256·32 + 32 = 8,224. Press train: it still learns the digits.' },
  { id: 'residual', title: 'A residual block trains a deeper net', summary: 'Plain 13 convs vs 6 residual blocks (Xavier init, GD): only the residual one learns',
    settings: { net: 'residual', dataset: 'digits', optimizer: 'gd', alpha: 0.1, batch_size: 64, init: 'xavier', batch_norm: false },
    text: 'One conv and six residual blocks (a[l+2] = g(z[l+2] + a[l])): 13 conv layers. Train two epochs (step twice) and note the cost; then pick “Plain deep” (13 convs without the skips) and do the same. With Xavier initialization each plain ReLU layer passes on about half of its signal: after 13 of them little is left, the gradients vanish and the plain net stays at chance (cost ≈ ln 10 = 2.30). The skips carry the signal past every block and the residual net learns (cost 0.2–0.9 after two epochs for seeds 1–3). With He initialization, or with Adam, the plain net trains too at this depth.' },
  { id: 'sharing_trained', title: 'Parameter sharing in a trained net', summary: 'Layer 1: 80 parameters; a dense layer between the same volumes: 33,280',
    settings: { net: 'convnet', dataset: 'digits', optimizer: 'adam', alpha: 0.003, batch_size: 32, init: 'he', batch_norm: false },
    text: 'The ConvNet’s first layer has 8 filters of 3×3: 3·3·1·8 + 8 = 80 parameters, each filter used at all 64 positions. A dense layer joining the same volumes (8·8·1 = 64 inputs to 8·8·8 = 512 units) would need 64·512 + 512 = 33,280 — 416 times as many. The table under the layers lists both for every layer; compare with “Dense only”.' },
];

/** The state of lesson `id` (its settings over the defaults), keeping presenter mode, the hidden
 *  controls, the speed and the user's drawing. */
export function lessonState(lesson, current) {
  const keep = { presenter: current.presenter, hidden: current.hidden, speed: current.speed, drawing: current.drawing };
  // an explorer lesson keeps the Live ConvNet's settings (its session is not restarted)
  const trains = Object.keys(lesson.settings).some((k) => TRAIN_KEYS.includes(k));
  const train = trains ? {} : Object.fromEntries(TRAIN_KEYS.map((k) => [k, current[k]]));
  return { ...defaults(), ...keep, ...train, ...lesson.settings, lesson: lesson.id };
}

/** Whether `state` still has the lesson's settings. */
export const onLesson = (lesson, state) => Object.entries(lesson.settings).every(([k, v]) => state[k] === v);

/** The Lessons menu (in `menuRoot`) and the lesson card (in `cardRoot`). */
export function createLessons(menuRoot, cardRoot, store) {
  const open = (lesson) => { location.hash = serializeHash(lessonState(lesson, store.state)); };
  const menu = h('details', { class: 'menu lab-presets', id: 'lesson-menu', dataset: { hide: 'lessons' } },
    h('summary', { class: 'btn-text', id: 'lesson-button', title: 'Load a lesson: its input, filter and settings' }, 'Lessons'),
    h('div', { class: 'menu-pop lab-presets-pop cnn-lessons-pop' }, h('ul', { class: 'menu-list', role: 'list' }, LESSONS.map((l) => h('li', {},
      h('button', { type: 'button', class: 'menu-item', dataset: { lesson: l.id }, onclick: () => { menu.open = false; open(l); } },
        h('span', { class: 'menu-item-title' }, l.title), h('span', { class: 'menu-item-sub' }, l.summary)))))));
  menuRoot.append(menu);
  closeOnOutsideClick(menu);

  const title = h('h3', { id: 'lesson-title' });
  const text = h('p', { id: 'lesson-text' });
  const back = h('button', { type: 'button', class: 'btn-small', id: 'lesson-back', hidden: true }, 'Back to the lesson’s settings');
  cardRoot.append(title, text, back);

  function render(s) {
    const lesson = LESSONS.find((l) => l.id === s.lesson);
    for (const b of menu.querySelectorAll('.menu-item')) b.setAttribute('aria-current', String(b.dataset.lesson === s.lesson));
    title.textContent = lesson ? lesson.title : 'What to look for';
    text.textContent = lesson ? lesson.text
      : 'The filter slides over the (padded) input; each output cell is the sum of the products of the window’s pixels with the filter’s numbers. Press play to watch it, or hover an output cell to see its sum. The Lessons menu sets up the course’s examples.';
    back.hidden = !lesson || onLesson(lesson, s);
    back.onclick = lesson ? () => open(lesson) : null;
    cardRoot.dataset.lesson = s.lesson;
  }
  render(store.state);
  store.subscribe((changed, s) => render(s));
}
