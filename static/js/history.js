// The run's history as the browser saw it (one point per frame), for the curves. Raw mini-batch
// costs are smoothed with a bias-corrected exponentially weighted average:
// v_t = β v_{t-1} + (1 - β) θ_t,  v̂_t = v_t / (1 - β^t).
const MAX_POINTS = 4000;
export const SERIES = ['iteration', 'train_cost', 'dev_cost', 'minibatch', 'minibatch_ewma', 'train_accuracy', 'dev_accuracy'];

export class History {
  constructor(beta = 0.9) {
    this.beta = beta;
    this.clear();
  }

  clear() {
    this.version = (this.version ?? 0) + 1; // bumped whenever points are removed or replaced (not appended)
    for (const s of SERIES) this[s] = [];
    this.v = 0;
    this.t = 0;
    this.diverged = null; // {iteration, restored, cost, costIteration} once the run blew up
  }

  get length() { return this.iteration.length; }

  /** Append a frame header's figures (a repeated iteration replaces the last point). */
  push(header) {
    if (this.diverged) return; // a frame still in flight when the run blew up: the blow-up stays the last point
    if (this.length && header.iteration <= this.iteration.at(-1)) {
      if (header.iteration < this.iteration.at(-1)) this.clear();
      else { for (const s of SERIES) this[s].pop(); this.version += 1; }
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

  /** A loaded run's cost history so far (the server's `history` message: {columns, rows}, the
   *  saved run's rows), replacing what is there: the curves carry on from it. */
  load({ columns, rows }) {
    this.clear();
    const at = Object.fromEntries(columns.map((c, i) => [c, i]));
    const get = (row, c) => (at[c] === undefined ? null : row[at[c]] ?? null);
    for (const row of rows) {
      this.push({ iteration: get(row, 'iteration'), minibatch_cost: get(row, 'minibatch_cost'),
        train: { cost: get(row, 'train_cost'), accuracy: get(row, 'train_accuracy') },
        dev: { cost: get(row, 'dev_cost'), accuracy: get(row, 'dev_accuracy') } });
    }
  }

  /** The blow-up (the server's `diverged` message, or a `divergence` of `state`/frames): the
   *  last finite mini-batch cost at its iteration (maybe huge: the curve shoots up to it) and, when
   *  an epoch end blew up, that epoch's finite train/dev costs at `diverged_at`. All finite. */
  diverge(d) {
    const at = d.diverged_at ?? d.iteration;
    if (at == null) return;
    const cost = d.last_finite_minibatch_cost ?? null;
    const costAt = d.last_finite_minibatch_iteration ?? at;
    this.version += 1;
    const point = (it, mb, train, dev) => {
      while (this.length && this.iteration.at(-1) >= it) for (const s of SERIES) this[s].pop();
      let smoothed = null;
      if (typeof mb === 'number') {
        this.t += 1;
        this.v = this.beta * this.v + (1 - this.beta) * mb;
        smoothed = this.v / (1 - this.beta ** this.t);
      }
      this.iteration.push(it);
      this.minibatch.push(mb);
      this.minibatch_ewma.push(smoothed);
      this.train_cost.push(train);
      this.dev_cost.push(dev);
      this.train_accuracy.push(null);
      this.dev_accuracy.push(null);
    };
    if (!this.diverged) {
      const train = d.train_cost ?? null;
      const dev = d.dev_cost ?? null;
      if (cost !== null && costAt !== at) point(costAt, cost, null, null);
      if ((cost !== null && costAt === at) || train !== null || dev !== null) point(at, costAt === at ? cost : null, train, dev);
    }
    this.diverged = { iteration: at, restored: d.restored_iteration ?? null, cost, costIteration: costAt };
  }

  /** Keep every other point of the older half, so long runs stay cheap to plot. */
  thin() {
    this.version += 1;
    const half = Math.floor(this.length / 2);
    for (const s of SERIES) this[s] = this[s].filter((_, i) => i >= half || i % 2 === 0);
  }
}
