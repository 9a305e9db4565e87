// The run's cost curve: the points the curves are drawn from. One rule, shared with the server's
// record of the same curve (server/cost_curve.py, the same class; it is what a run is saved
// with and what the `history` message of a loaded run holds), so the curve a student saw is the
// curve their saved run keeps:
// - a point is recorded when its iteration is at least `stride` after the last point's (so a
//   second frame of an iteration, e.g. after a live `set` or of a loaded run's last row, adds nothing);
// - when `cap` points are reached every other point is dropped (the first kept) and `stride`
//   doubles, so a long run keeps an even sample of its whole course;
// - a diverged run ends with its blow-up points (`diverge`), after which nothing is recorded;
// - a loaded run's rows start the curve (`load`), thinned like `add` would have.
// The browser records a point per frame it receives; the server a row per snapshot (every
// frame's, and some between frames): until the first thinning every point drawn is a row of the
// saved run, after it both keep an even sample of the run by the same stride.
// Raw mini-batch costs are smoothed over the recorded points with a bias-corrected exponentially
// weighted average, v_t = β v_{t-1} + (1 - β) θ_t,  v̂_t = v_t / (1 - β^t): a function of the
// points alone, recomputed when points are removed, so a loaded run's smoothed curve is the one
// its student saw.
export const CAP = 4000; // = server/limits.py MAX_HISTORY_ROWS (tests/server/test_sessions.py checks)
export const SERIES = ['iteration', 'train_cost', 'dev_cost', 'minibatch', 'minibatch_ewma', 'train_accuracy', 'dev_accuracy'];

export class CostCurve {
  constructor(cap = CAP, beta = 0.9) {
    this.cap = cap;
    this.beta = beta;
    this.clear();
  }

  clear() {
    this.version = (this.version ?? 0) + 1; // bumped whenever points are removed or replaced (not appended)
    for (const s of SERIES) this[s] = [];
    this.stride = 1;
    this.v = 0;
    this.t = 0;
    this.divergedAt = null; // the server's diverged_at once the blow-up points are recorded
    this.diverged = null; // {iteration, restored, cost, costIteration} once the run blew up
  }

  get length() { return this.iteration.length; }

  /** Record a frame header's figures (a smaller iteration than the last: a new run, start over). */
  add(header) {
    if (this.diverged) return; // a frame still in flight when the run blew up: the blow-up stays the last point
    const it = header.iteration;
    if (this.length && it < this.iteration.at(-1)) this.clear();
    else if (this.length && it - this.iteration.at(-1) < this.stride) return;
    this.append(it, header.minibatch_cost ?? null, header.train?.cost ?? null, header.dev?.cost ?? null,
      header.train?.accuracy ?? null, header.dev?.accuracy ?? null);
    this.thin();
  }

  /** A loaded run's curve so far (the server's `history` message: {columns, rows}, the saved
   *  run's rows), replacing what is there: the curves carry on from it. */
  load({ columns, rows }) {
    this.clear();
    const at = Object.fromEntries(columns.map((c, i) => [c, i]));
    const get = (row, c) => (at[c] === undefined ? null : row[at[c]] ?? null);
    for (const row of rows) {
      this.append(get(row, 'iteration'), get(row, 'minibatch_cost'), get(row, 'train_cost'), get(row, 'dev_cost'),
        get(row, 'train_accuracy'), get(row, 'dev_accuracy'));
    }
    this.thin();
  }

  /** The blow-up (the server's `diverged` message, or a `divergence` of `state`/frames): the
   *  last finite mini-batch cost at its iteration (maybe huge: the curve shoots up to it) and, when
   *  an epoch end blew up, that epoch's finite train/dev costs at `diverged_at`. All finite.
   *  Recorded once per blow-up, as the server's CostCurve.diverge. */
  diverge(d) {
    const at = d.diverged_at ?? d.iteration;
    if (at == null) return;
    const lastIt = d.last_finite_minibatch_iteration ?? null;
    let cost = d.last_finite_minibatch_cost ?? null;
    this.diverged = { iteration: at, restored: d.restored_iteration ?? null, cost, costIteration: lastIt ?? at };
    if (this.divergedAt === at) return;
    this.divergedAt = at;
    const first = lastIt === null ? at : Math.min(lastIt, at);
    while (this.length && this.iteration.at(-1) >= first) this.removeLast();
    if (cost !== null && lastIt !== null && lastIt !== at) {
      this.append(lastIt, cost, null, null, null, null);
      cost = null;
    }
    const train = d.train_cost ?? null;
    const dev = d.dev_cost ?? null;
    if (cost !== null || train !== null || dev !== null) this.append(at, cost, train, dev, null, null);
    this.version += 1;
  }

  append(it, minibatch, train, dev, trainAccuracy, devAccuracy) {
    let smoothed = null;
    if (typeof minibatch === 'number') {
      this.t += 1;
      this.v = this.beta * this.v + (1 - this.beta) * minibatch;
      smoothed = this.v / (1 - this.beta ** this.t);
    }
    this.iteration.push(it);
    this.minibatch.push(minibatch);
    this.minibatch_ewma.push(smoothed);
    this.train_cost.push(train);
    this.dev_cost.push(dev);
    this.train_accuracy.push(trainAccuracy);
    this.dev_accuracy.push(devAccuracy);
  }

  removeLast() {
    for (const s of SERIES) this[s].pop();
    this.smooth();
  }

  /** Every other point once `cap` are reached (the first kept), and a doubled stride. */
  thin() {
    if (this.length < this.cap) return;
    while (this.length >= this.cap) {
      for (const s of SERIES) this[s] = this[s].filter((_, i) => i % 2 === 0);
      this.stride *= 2;
    }
    this.smooth();
  }

  /** The smoothed mini-batch cost again from the recorded points (after points were removed). */
  smooth() {
    this.version += 1;
    this.v = 0;
    this.t = 0;
    this.minibatch_ewma = this.minibatch.map((mb) => {
      if (typeof mb !== 'number') return null;
      this.t += 1;
      this.v = this.beta * this.v + (1 - this.beta) * mb;
      return this.v / (1 - this.beta ** this.t);
    });
  }
}
