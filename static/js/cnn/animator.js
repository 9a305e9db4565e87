// The sliding window's timeline: every output position of the convolution (row by row), then
// every position of the pooling. `at` runs from 0 to `total`; at `total` the animation is over and
// every cell is shown. play / pause / step / reset, `speed` positions a second.

export function createAnimator(onChange) {
  let stages = [];   // [{name, size}] in order
  let total = 0;
  let at = 0;
  let timer = null;
  let speed = 2;

  const position = () => {
    let k = at;
    for (const { name, size } of stages) {
      if (k < size * size) return { stage: name, i: Math.floor(k / size), j: k % size, index: at, total };
      k -= size * size;
    }
    return { stage: null, index: at, total };
  };
  const show = () => onChange(position(), timer !== null);
  const tick = () => {
    at += 1;
    if (at >= total) { at = total; stop(); }
    show();
  };
  function stop() { clearInterval(timer); timer = null; }
  function start() {
    stop();
    timer = setInterval(tick, 1000 / speed);
  }

  return {
    /** New stages (the settings changed): the animation stops and every cell is shown. */
    setStages(list) {
      stop();
      stages = list.filter((s) => s.size > 0);
      total = stages.reduce((n, s) => n + s.size * s.size, 0);
      at = total;
      show();
    },
    setSpeed(value) {
      speed = value;
      if (timer !== null) start();
    },
    get playing() { return timer !== null; },
    toggle() {
      if (timer !== null) { stop(); show(); return; }
      if (at >= total) at = 0; // a finished animation starts over
      start();
      show();
    },
    step() {
      stop();
      at = at >= total ? 0 : at + 1;
      show();
    },
    reset() {
      stop();
      at = 0;
      show();
    },
    position,
  };
}
