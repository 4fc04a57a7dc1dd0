/** Time is injected, so tests and simulations run on a fake clock (clock.test-support.ts). */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Calls `run` once after `ms`; the returned function cancels it. */
  setTimer(ms: number, run: () => void): () => void;
}

/** The real clock. Its timers keep the process alive, as a fleet's or a monitor's next step must. */
export const systemClock: Clock = systemClockWith({ holdsProcess: true });

/**
 * The real clock for housekeeping (log retention, a forwarder's retry): its timers do not keep the
 * process alive, so a command that is otherwise done is not held open by them.
 */
export const backgroundClock: Clock = systemClockWith({ holdsProcess: false });

function systemClockWith(options: { holdsProcess: boolean }): Clock {
  return {
    now: () => Date.now(),
    setTimer: (ms, run) => {
      const timer = setTimeout(run, ms);
      if (!options.holdsProcess) timer.unref();
      return () => clearTimeout(timer);
    },
  };
}
