/**
 * The gate for one image: load what it is made of (the effect), then judge it (pure): hardening
 * rules for the profile, the secret scan, the vulnerability matches handed in, waivers, verdict.
 * `storeVerdict` attaches the verdict to the image as a referrer, for signing and for the catalog.
 */

import { compactJson } from '../common/index.js';
import type { FlattenedLayerCache, LayoutStore } from '../oci/index.js';
import { attachArtifact, type Descriptor, type Digest, MediaType } from '../oci/index.js';
import { defaultGateSection, type GateSection } from '../specfile/index.js';
import { GateError } from './errors.js';
import type { Finding, HardeningFinding, Profile } from './findings.js';
import { debianSuiteOf } from './image-suite.js';
import { type ImageView, loadImageView } from './image-view.js';
import { rulesFor } from './rules/registry.js';
import type { RuleContext } from './rules/rule.js';
import { type SecretScan, scanSecrets, scanSecretsStreamed } from './secrets/scan-secrets.js';
import { decideVerdict, type Verdict, verdictArtifactType } from './verdict.js';
import type { VulndbState } from './vulndb-state.js';
import { vulnerabilityFindings } from './vulnerability-findings.js';
import {
  matchVulnerabilities,
  type VulnDb,
  type VulnDbAge,
  type VulnFinding,
  vulnDbAge,
} from './vulns/index.js';

export interface EvaluateOptions {
  /** The spec the image was built from; without it the rules judge the image config alone. */
  spec?: RuleContext['spec'];
  /** The spec's validated `gate:` section; defaults when the spec has none. */
  gate?: GateSection;
  /** Overrides `gate.profile`, e.g. from `herd gate --profile strict`. */
  profile?: Profile;
  /** The matches for this image and the age of the data they came from; absent: not checked. */
  vulnerabilities?: { findings: readonly VulnFinding[]; age: VulnDbAge };
  /** From the injected clock: decides waiver expiry and `evaluatedAt`. */
  now: Date;
  /** Files above this are counted, not scanned for secrets; 5 MiB by default. */
  maxSecretFileBytes?: number;
  /** The secret scan, when the caller ran it over the view (gateImage streams it); else it runs here, over the view's bytes. */
  secretScan?: SecretScan;
}

export interface GateOptions extends EvaluateOptions {
  /** The bytes of the image's herd.lock, checked against its label, for the signed-suites rule. */
  lockFile?: Uint8Array | string;
  /**
   * The loaded vulnerability database (src/gate/vulns `loadVulnDb`): the image's packages are
   * matched against it. Takes the place of `vulnerabilities`. Given as a promise, it is read and
   * hashed while the image loads; its error, if any, is still the one thrown (the image's load is
   * waited for first, so nothing goes on behind it).
   */
  vulndb?: VulnDb | Promise<VulnDb | undefined>;
  /** The Debian suite to match in (`spec.image.suite`); else the image's os-release or label. */
  suite?: string;
  /**
   * Read the layers through HERD_HOME's flattened-layer cache: metadata from its sealed indexes,
   * file bytes only where a rule or the secret scan needs them. Without it, layers are read in memory.
   */
  layerCache?: FlattenedLayerCache;
}

export async function gateImage(store: LayoutStore, digest: string, options: GateOptions): Promise<Verdict> {
  const viewLoad = loadImageView(store, digest, {
    ...(options.lockFile === undefined ? {} : { lockFile: options.lockFile }),
    ...(options.layerCache ? { layerCache: options.layerCache } : {}),
  });
  // Observed below, after the data: a layer refused meanwhile is not an unhandled rejection.
  viewLoad.catch(() => undefined);
  let vulndb: VulnDb | undefined;
  try {
    vulndb = await options.vulndb;
  } catch (error) {
    // The data's error is the gate's, as when it was loaded before the image.
    await viewLoad.catch(() => undefined);
    await options.layerCache?.close();
    throw error;
  }
  const view = await viewLoad.catch(async (error: unknown) => {
    await options.layerCache?.close();
    throw error;
  });
  const secretScan = await scanSecretsStreamed(
    view,
    options.maxSecretFileBytes === undefined ? {} : { maxFileBytes: options.maxSecretFileBytes },
  ).finally(() => options.layerCache?.close());
  if (!vulndb) return evaluateImage(view, { ...options, secretScan });
  const suite = options.suite ?? debianSuiteOf(view);
  if (suite === undefined) {
    throw new GateError(
      'SUITE_UNKNOWN',
      `image ${view.digest} names no Debian suite (no VERSION_CODENAME in its os-release, no debian:<codename> base label); pass the spec's image.suite`,
    );
  }
  const findings = matchVulnerabilities(view.packages, vulndb, { suite });
  return evaluateImage(view, {
    ...options,
    secretScan,
    vulnerabilities: { findings, age: vulnDbAge(vulndb.meta, { now: options.now }) },
  });
}

/** Pure: the verdict for a loaded view. */
export function evaluateImage(view: ImageView, options: EvaluateOptions): Verdict {
  const gate = options.gate ?? defaultGateSection;
  const profile = options.profile ?? gate.profile;
  const context: RuleContext = { view, gate, ...(options.spec ? { spec: options.spec } : {}) };
  const hardening = rulesFor(profile).flatMap((rule) =>
    rule.check(context).map(
      (result): HardeningFinding => ({
        kind: 'hardening',
        rule: rule.id,
        level: result.level ?? rule.severity,
        message: result.message,
        ...(result.location ? { location: result.location } : {}),
      }),
    ),
  );
  const secrets =
    options.secretScan ??
    scanSecrets(
      view,
      options.maxSecretFileBytes === undefined ? {} : { maxFileBytes: options.maxSecretFileBytes },
    );
  const recordPaths = new Map(view.packages.map((pkg) => [pkg.name, pkg.recordPath]));
  const vulnerabilities = vulnerabilityFindings(options.vulnerabilities?.findings ?? [], { recordPaths });
  const vulndb: VulndbState = options.vulnerabilities
    ? { kind: 'checked', age: options.vulnerabilities.age, maxAgeDays: gate.vulndb.maxAgeDays }
    : { kind: 'unchecked' };
  const findings: Finding[] = [...hardening, ...secrets.findings, ...vulnerabilities];
  return decideVerdict({
    image: view.digest,
    profile,
    now: options.now,
    findings,
    waivers: gate.waivers,
    vulndb,
    maxAgeDays: gate.vulndb.maxAgeDays,
    secretScan: secrets.stats,
  });
}

/**
 * Attaches the verdict to the image it judges. Every run adds one (each has its own `evaluatedAt`);
 * the annotations let a reader pick the latest or a passing one without fetching the documents.
 */
export async function storeVerdict(
  store: LayoutStore,
  digest: Digest,
  verdict: Verdict,
): Promise<Descriptor> {
  if (verdict.image !== digest) {
    throw new GateError(
      'VERDICT_MISMATCH',
      `the verdict is about ${verdict.image}, so it cannot be attached to ${digest}`,
    );
  }
  const manifest = await store.getBlob(digest);
  return attachArtifact(
    store,
    { mediaType: MediaType.imageManifest, digest, size: manifest.length },
    {
      artifactType: verdictArtifactType,
      data: Buffer.from(compactJson(verdict)),
      annotations: {
        'org.opencontainers.image.created': verdict.evaluatedAt,
        'dev.herd.gate.profile': verdict.profile,
        'dev.herd.gate.passed': String(verdict.passed),
      },
    },
  );
}
