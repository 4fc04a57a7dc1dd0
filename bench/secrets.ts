/**
 * bench/secrets: the secret scan over a built image, as the gate runs it, and again with every file
 * treated as an app file (every detector over every text file: the worst case, an image whose
 * files no package owns).
 *
 *   node --import tsx bench/secrets.ts --home <HERD_HOME> --image <name:tag or digest> [--runs 15]
 *
 * Build the image first, e.g. `HERD_HOME=/tmp/h npm run herd -- build examples/hello`.
 */
import { join } from 'node:path';
import { type ImageView, loadImageView } from '../src/gate/image-view.js';
import { scanSecrets } from '../src/gate/secrets/scan-secrets.js';
import { LayoutStore } from '../src/oci/layout-store.js';

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index < 0 ? undefined : process.argv[index + 1];
}

const home = argument('--home');
const image = argument('--image');
if (!home || !image) {
  console.error('usage: bench/secrets.ts --home <HERD_HOME> --image <name:tag or digest> [--runs 15]');
  process.exit(2);
}
const runs = Number(argument('--runs') ?? 15) || 15;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function time(view: ImageView): { ms: number; scan: ReturnType<typeof scanSecrets> } {
  const times: number[] = [];
  let scan = scanSecrets(view);
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    scan = scanSecrets(view);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return { ms: median(times), scan };
}

const store = new LayoutStore(join(home, 'store'));
const digest = await store.resolve(image);
const loadStarted = process.hrtime.bigint();
const view = await loadImageView(store, digest);
const loadMs = Number(process.hrtime.bigint() - loadStarted) / 1e6;
const asGated = time(view);
const allApp = time({ ...view, owners: new Map() });
const textBytes = [...view.files.values()].reduce(
  (sum, node) => sum + (node.type === 'file' ? (node.data?.length ?? 0) : 0),
  0,
);

console.log(
  `image ${image} (${digest}): ${view.files.size} entries, ${(textBytes / 1e6).toFixed(1)} MB in files`,
);
console.log(`loadImageView: ${loadMs.toFixed(0)} ms (once)`);
console.log(
  `scanSecrets as gated, median of ${runs}: ${asGated.ms.toFixed(1)} ms; ${JSON.stringify(asGated.scan.stats)}; ${asGated.scan.findings.length} findings`,
);
console.log(
  `scanSecrets, every file as an app file, median of ${runs}: ${allApp.ms.toFixed(1)} ms; ${JSON.stringify(allApp.scan.stats)}; ${allApp.scan.findings.length} findings`,
);
for (const finding of allApp.scan.findings)
  console.log(`  ${finding.rule} ${finding.location.path}:${finding.location.line ?? ''}`);
