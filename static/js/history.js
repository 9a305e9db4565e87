// The run's history as the browser saw it (one point per frame), for the curves. Raw mini-batch
// costs are smoothed with a bias-corrected exponentially weighted average:
// v_t = β v_{t-1} + (1 - β) θ_t,  v̂_t = v_t / (1 - β^t).
const MAX_POINTS = 4000;
const SERIES = ['iteration', 'train_cost', 'dev_cost', 'minibatch', 'minibatch_ewma', 'train_accuracy', 'dev_accuracy'];

export class History {
  constructor(beta = 0.9) {
    this.beta = beta;
    this.clear();
  }

  clear() {
    for (const s of SERIES) this[s] = [];
    this.v = 0;
    this.t = 0;
  }

  get length() { return this.iteration.length; }

  /** Append a frame header's figures (a repeated iteration replaces the last point). */
  push(header) {
    if (this.length && header.iteration <= this.iteration.at(-1)) {
      if (header.iteration < this.iteration.at(-1)) this.clear();
      else for (const s of SERIES) this[s].pop();
    }
    const mb = header.minibatch_cost;
    let smoothed = null;
    if (typeof mb === 'number') {
      this.t += 1;
      this.v = this.beta * this.v + (1 - this.beta) * mb;
      smoothed = this.v / (1 - this.beta ** this.t);
    }
    this.iteration.push(header.iteration);
    this.train_cost.push(header.train?.cost ?? null);
    this.dev_cost.push(header.dev?.cost ?? null);
    this.minibatch.push(mb ?? null);
    this.minibatch_ewma.push(smoothed);
    this.train_accuracy.push(header.train?.accuracy ?? null);
    this.dev_accuracy.push(header.dev?.accuracy ?? null);
    if (this.length > MAX_POINTS) this.thin();
  }

  /** Keep every other point of the older half, so long runs stay cheap to plot. */
  thin() {
    const half = Math.floor(this.length / 2);
    for (const s of SERIES) this[s] = this[s].filter((_, i) => i >= half || i % 2 === 0);
  }
}
