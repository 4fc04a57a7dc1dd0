/** How a long build reports progress. The CLI draws it on a terminal; tests and the server log it. */
export interface BuildProgress {
  /** One line per pipeline step. */
  step(message: string): void;
  /** Something the user should know that does not stop the build, e.g. a cache entry not trusted. */
  warn(message: string): void;
  /** A counted phase, e.g. downloading 40 packages. */
  phase(label: string, total: number): PhaseProgress;
}

export interface PhaseProgress {
  advance(detail?: string): void;
  done(): void;
}

export const silentProgress: BuildProgress = {
  step() {},
  warn() {},
  phase() {
    return { advance() {}, done() {} };
  },
};
