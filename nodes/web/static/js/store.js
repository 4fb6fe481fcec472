// A tiny state store: named slices, change notification per slice.
//
// The 60 Hz `state` frames do NOT go through here: re-rendering components 60 times a second
// would waste the operator's laptop. They land in `live` (below) and are drawn on animation frames.

export class Store {
  constructor(initial = {}) {
    this.data = { ...initial };
    this.subs = new Map();
  }

  get(key) {
    return this.data[key];
  }

  /** Merge a patch; subscribers of each changed key are told once. */
  set(patch) {
    const changed = [];
    for (const [key, value] of Object.entries(patch)) {
      if (this.data[key] === value && (typeof value !== 'object' || value === null)) continue;
      this.data[key] = value;
      changed.push(key);
    }
    const called = new Set();
    for (const key of changed) {
      for (const fn of this.subs.get(key) || []) {
        if (called.has(fn)) continue;
        called.add(fn);
        try {
          fn(this.data);
        } catch (err) {
          console.warn(`mcav: subscriber of "${key}" failed:`, err);
        }
      }
    }
  }

  /** Call fn(data) now and whenever one of `keys` changes. */
  subscribe(keys, fn) {
    for (const key of keys) {
      if (!this.subs.has(key)) this.subs.set(key, new Set());
      this.subs.get(key).add(fn);
    }
    fn(this.data);
    return () => keys.forEach((k) => this.subs.get(k).delete(fn));
  }
}

/**
 * The newest `state` frame plus a per-animation-frame draw loop.
 * Drawers get (frame, dtSeconds) and must be cheap.
 */
export class Live {
  constructor() {
    this.frame = null;
    this.frameAt = 0;
    this.frames = 0;
    this.drawers = new Set();
    this.lastBeatAt = -Infinity;
    this.rate = 0; // state frames per second arriving here, over the last second
    this._rateFrames = 0;
    this._rateAt = performance.now();
    this._last = performance.now();
    const tick = (t) => {
      const dt = Math.min(0.25, (t - this._last) / 1000);
      this._last = t;
      if (t - this._rateAt >= 1000) {
        this.rate = ((this.frames - this._rateFrames) * 1000) / (t - this._rateAt);
        this._rateFrames = this.frames;
        this._rateAt = t;
      }
      for (const draw of this.drawers) {
        try {
          draw(this.frame, dt, t);
        } catch (err) {
          console.warn('mcav: drawer failed:', err);
          this.drawers.delete(draw);
        }
      }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }

  push(frame) {
    this.frame = frame;
    this.frameAt = performance.now();
    this.frames += 1;
    if (frame.is_beat) this.lastBeatAt = this.frameAt;
  }

  add(draw) {
    this.drawers.add(draw);
    return () => this.drawers.delete(draw);
  }
}
