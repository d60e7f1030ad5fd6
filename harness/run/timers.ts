// Timers of any length. Node's setTimeout takes at most 2^31−1 ms (about 24.8 days) and fires a longer delay
// after 1 ms, so a 30-day phase timeout would kill the phase at once: a long delay is waited out in chunks.

/** The largest delay Node's setTimeout honours. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The timer functions a long timer is built on (tests pass a fake clock). */
export interface TimerClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: TimerClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/**
 * Call `fn` once, `ms` milliseconds from now (any finite length; chunks of at most MAX_TIMER_MS, re-armed against
 * the clock so the total does not drift). Returns a cancel function.
 */
export function setLongTimeout(fn: () => void, ms: number, clock: TimerClock = realClock): () => void {
  if (!(ms >= 0) || !Number.isFinite(ms)) throw new Error(`setLongTimeout: a delay must be a finite non-negative number (got ${ms})`);
  const due = clock.now() + ms;
  let handle: unknown;
  let cancelled = false;
  const arm = (): void => {
    const left = due - clock.now();
    if (left <= 0) {
      fn();
      return;
    }
    handle = clock.setTimeout(() => {
      if (!cancelled) arm();
    }, Math.min(left, MAX_TIMER_MS));
  };
  arm();
  return () => {
    cancelled = true;
    if (handle !== undefined) clock.clearTimeout(handle);
  };
}
