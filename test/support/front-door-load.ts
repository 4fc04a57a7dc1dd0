/**
 * Bounded load on a fleet's front door over loopback: one request at a time per loop, 10 ms apart,
 * until stopped. Every answer's text is kept in order, and every failure (a status other than 200,
 * a refused or reset connection) with when it happened, so a test can say none failed.
 */
export interface LoadLoop {
  answers: string[];
  failures: string[];
  stop(): Promise<void>;
}

export function loadLoop(url: string): LoadLoop {
  const answers: string[] = [];
  const failures: string[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      try {
        const response = await fetch(url);
        const text = await response.text();
        if (response.status === 200) answers.push(text);
        else failures.push(`${new Date().toISOString()} status ${response.status}: ${text}`);
      } catch (error) {
        const cause = String(((error as Error).cause as Error | undefined)?.message ?? '');
        failures.push(`${new Date().toISOString()} ${(error as Error).message} ${cause}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  return {
    answers,
    failures,
    async stop() {
      running = false;
      await done;
    },
  };
}
