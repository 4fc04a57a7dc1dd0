/**
 * Whether a command of this process moved the journal's head (state-context.ts sets it when a
 * StateContext closes). In a module of its own, with nothing imported, so that main.ts can ask
 * after a command that never opened the state (herd init, herd --help) without loading what
 * signing a checkpoint needs (journal-checkpointing.ts).
 */
let journaled = false;

export function markJournaled(): void {
  journaled = true;
}

/** Whether the head moved since the last takeJournaled, leaving the answer for it. */
export function journaledPending(): boolean {
  return journaled;
}

/** Whether the head moved since the last call: after such a command herd signs a checkpoint. */
export function takeJournaled(): boolean {
  const was = journaled;
  journaled = false;
  return was;
}
