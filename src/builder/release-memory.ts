/**
 * Gives back the memory of a phase whose large data is dropped. Resolving makes some 60 MB of
 * Packages index records and resolver tables that are garbage once the lock is made; V8 collects
 * old-space garbage only when that space grows again, so without a collection here the build's
 * next phase (.deb downloads, unpacking) stacks its buffers on top of it and the process peaks at
 * both together. One full collection costs a few tens of milliseconds and lets V8 unmap the freed
 * pages. Node exposes gc() only behind --expose-gc; the flag can be set at run time, and gc is
 * then read from a fresh context (the way Node's documentation of v8.setFlagsFromString shows).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | undefined;

export function releaseMemory(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}
