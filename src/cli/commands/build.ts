import { type BuiltAndGated, buildAndGate } from '../../pipeline/index.js';
import { formatBytes } from '../format.js';
import { renderReport } from '../gate-report.js';
import { buildRequest, openPipelineParts } from '../pipeline-parts.js';
import { openSpec } from '../spec-context.js';

/** `herd build [spec]`: locks first when there is no lock yet, then builds into HERD_HOME/store and gates. */
export async function buildCommand(
  specPath: string,
  options: { json?: boolean; gate?: boolean; allowDowngrade?: boolean },
): Promise<number> {
  const context = await openSpec(specPath);
  const parts = await openPipelineParts();
  const { store } = parts;
  let built: BuiltAndGated;
  try {
    built = await buildAndGate(
      context,
      parts,
      buildRequest({ gate: options.gate !== false, allowDowngrade: options.allowDowngrade === true }),
    );
  } finally {
    parts.close();
  }
  const { image, verdict } = built;
  const exitCode = verdict && !verdict.passed ? 1 : 0;
  if (options.json) {
    const gate = verdict && {
      passed: verdict.passed,
      profile: verdict.profile,
      failing: verdict.summary.failing,
    };
    const quarantined = await store.quarantined(image.digest);
    const naming = quarantined ? { quarantined: quarantined.reason } : {};
    console.log(JSON.stringify({ ...image, ...naming, ...(gate ? { gate } : {}) }, null, 2));
    return exitCode;
  }
  console.log(`built ${image.refName}`);
  console.log(`  digest    ${image.digest}`);
  console.log(
    `  size      ${formatBytes(image.size)} compressed, ${formatBytes(image.unpackedSize)} unpacked, ${image.layers.length} layers`,
  );
  console.log(`  packages  ${image.packageCount}`);
  console.log(`  files     ${image.fileCount}`);
  console.log(`  store     ${store.root}`);
  if (!verdict) {
    console.log('  gate      skipped (--no-gate): this image cannot be signed until herd gate passes');
    console.log(`  name      none yet: quarantined until herd gate ${image.digest} passes`);
    return 0;
  }
  console.log(`  gate      ${verdict.passed ? 'passed' : 'FAILED'} (${verdict.profile})`);
  if (!verdict.passed) {
    console.log(`  name      none: quarantined (gate failed); inspect it as ${image.digest}`);
    process.stdout.write(renderReport(verdict, 'text'));
  }
  return exitCode;
}
