/**
 * Node's TAP reporter, with every failed test named again just before the closing summary.
 *
 * Why: a run of 2,700 tests prints some 30,000 lines, and a reader that keeps only the head and the tail
 * of them (as CI's does) sees "# fail 1" with no word of which test failed or why. The failures are
 * repeated as TAP diagnostics ("# failed: …"), so the output stays valid TAP and the summary stays last.
 */
import { tap } from 'node:test/reporters';

/** @typedef {{ file: string | undefined, path: string, error: string }} Failure */

/** @param {AsyncIterable<any>} source */
export default async function* tapFailuresLast(source) {
  yield* tap(withFailuresBeforeSummary(source));
}

/** @param {AsyncIterable<any>} source */
async function* withFailuresBeforeSummary(source) {
  /** @type {Failure[]} */
  const failures = [];
  // Names of the tests started so far, by file and nesting: a failure is named with the suites around it.
  /** @type {Map<string, string[]>} */
  const open = new Map();
  let repeated = false;
  for await (const event of source) {
    if (event.type === 'test:start') {
      const names = open.get(event.data.file ?? '') ?? [];
      names.length = event.data.nesting;
      names.push(event.data.name);
      open.set(event.data.file ?? '', names);
    } else if (event.type === 'test:fail' && !failedOnlyThroughSubtests(event.data.details.error)) {
      const names = open.get(event.data.file ?? '') ?? [];
      const path = [...names.slice(0, event.data.nesting), event.data.name].join(' › ');
      failures.push({ file: event.data.file, path, error: firstLinesOf(event.data.details.error) });
    } else if (!repeated && isSummaryStart(event)) {
      repeated = true;
      yield* failureDiagnostics(failures, event.data.file);
    }
    yield event;
  }
}

/** A suite fails when one of its tests does; the test itself is listed, so the suite's own failure is not. */
function failedOnlyThroughSubtests(error) {
  return error?.failureType === 'subtestsFailed';
}

function isSummaryStart(event) {
  return (
    event.type === 'test:diagnostic' && event.data.nesting === 0 && /^tests \d+$/.test(event.data.message)
  );
}

/** @param {Failure[]} failures @param {string | undefined} file */
function* failureDiagnostics(failures, file) {
  const lines =
    failures.length === 0
      ? []
      : [
          `${failures.length} failed, named again here:`,
          ...failures.flatMap((failure) => [
            `failed: ${failure.file ? relativeToCwd(failure.file) : '(no file)'}: ${failure.path}`,
            ...failure.error.split('\n').map((line) => `  ${line}`),
          ]),
        ];
  for (const message of lines) yield { type: 'test:diagnostic', data: { nesting: 0, message, file } };
}

/** The error's first lines, with its cause: enough to tell which assertion or which call failed. */
function firstLinesOf(error) {
  const inner = error?.cause ?? error;
  const text = String(inner?.message ?? inner);
  return text.split('\n').slice(0, 12).join('\n');
}

/** @param {string} file */
function relativeToCwd(file) {
  const base = `${process.cwd()}/`;
  return file.startsWith(base) ? file.slice(base.length) : file;
}
