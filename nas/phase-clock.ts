// Where a phase's time goes: named, nestable timers that book exclusive time (a nested timer's time is taken
// out of its parent), so the totals of every name add up to the time spent inside the outermost timers.
// The search loop books its weight-only warm-up epochs, its search epochs (α step, weight step and
// re-derivation nested in them), end-of-search scoring and checkpoints here; the phases add setup and writing.

/** Seconds per phase name, exclusive of nested phases. Names nest with a dot: "search.alphaStep". */
export type PhaseSeconds = Record<string, number>;

export class PhaseClock {
  private readonly totals = new Map<string, number>();
  private readonly stack: Array<{ name: string; start: number; nested: number }> = [];

  constructor(private readonly now: () => number = () => performance.now()) {}

  begin(name: string): void {
    this.stack.push({ name, start: this.now(), nested: 0 });
  }

  end(): void {
    const e = this.stack.pop();
    if (!e) throw new Error('PhaseClock.end without begin');
    const d = this.now() - e.start;
    this.add(e.name, d - e.nested);
    const parent = this.stack[this.stack.length - 1];
    if (parent) parent.nested += d;
  }

  time<T>(name: string, f: () => T): T {
    this.begin(name);
    try {
      return f();
    } finally {
      this.end();
    }
  }

  async timeAsync<T>(name: string, f: () => Promise<T>): Promise<T> {
    this.begin(name);
    try {
      return await f();
    } finally {
      this.end();
    }
  }

  /** Book `ms` milliseconds under `name` directly (time measured elsewhere, e.g. process start → phase start). */
  add(name: string, ms: number): void {
    this.totals.set(name, (this.totals.get(name) ?? 0) + ms);
  }

  /** Exclusive seconds per name. */
  seconds(): PhaseSeconds {
    return Object.fromEntries([...this.totals].map(([k, ms]) => [k, ms / 1000]));
  }
}

/** The phase names whose time is search device time as the papers count it: warm-up and search epochs. */
export function isSearchEpochPhase(name: string): boolean {
  return name === 'warmup' || name.startsWith('warmup.') || name === 'search' || name.startsWith('search.');
}

/** Seconds of the warm-up and search epochs (every nested name included). */
export function searchEpochSeconds(phases: PhaseSeconds): number {
  return Object.entries(phases).filter(([k]) => isSearchEpochPhase(k)).reduce((s, [, v]) => s + v, 0);
}

/** Seconds of the training epochs of an evaluation. */
export function trainEpochSeconds(phases: PhaseSeconds): number {
  return Object.entries(phases).filter(([k]) => k === 'train' || k.startsWith('train.')).reduce((s, [, v]) => s + v, 0);
}
