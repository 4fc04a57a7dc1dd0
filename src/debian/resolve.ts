/**
 * Dependency resolution, pure: package records and requested names in, the closed set of packages
 * an image needs out. Like apko and distroless, nothing is added that nobody asked for or depends
 * on, Essential and Priority: required included, since maintainer scripts never run.
 *
 * Each package name has one candidate, as apt has: the highest version of the target architecture
 * or `all`, ties going to the earlier suite. `name=version` and `name/suite` requests pin the
 * candidate instead. The search is depth-first over the choices alternatives and virtual packages
 * leave open, trying them in a fixed preference order and backtracking on a conflict or an
 * unsatisfiable dependency, so the result is a pure function of the input.
 *
 * Packages already installed (a base image's) are selected from the start and are the only
 * candidate of their name: they satisfy what their version satisfies, and are never replaced,
 * upgraded or added again. A newer version in the archive is reported as held, not taken.
 */
import { DebianError } from './errors.js';
import {
  formatRelation,
  formatRelationGroup,
  parseRelations,
  type Relation,
  type RelationGroup,
  relationsForArchitecture,
} from './relations.js';
import type { PackageRecord } from './types.js';
import { compareDebianVersions, satisfiesRelation } from './version.js';

export interface ResolveOptions {
  /** Debian architecture of the image, e.g. `amd64`. Records for `all` are always eligible. */
  architecture: string;
  /** Follow Recommends as well. A Recommends nothing satisfies is skipped, as apt skips it. */
  recommends: boolean;
  /** Suite order for version ties; by default, the order in which suites first appear in the universe. */
  suites?: string[];
  /**
   * Packages taken without following their dependencies, for dependencies that only their
   * maintainer scripts use (base-files needs awk only in postinst, which herd never runs).
   */
  withoutDependencies?: readonly string[];
  /**
   * Packages already in the image, e.g. a base image's (their `suite`, `filename` and `sha256` are
   * not read). Their own dependencies are not followed: the base is taken as it was built.
   */
  installed?: readonly PackageRecord[];
}

/** An installed package that the archive has a newer candidate of; it stays at its installed version. */
export interface HeldPackage {
  installed: PackageRecord;
  available: PackageRecord;
}

export interface Resolution {
  /** Every selected package, one per name, sorted by name; installed packages are not repeated here. */
  packages: PackageRecord[];
  /**
   * Why each package is there, keyed and ordered by name: `requested`, `requested via awk`
   * (a virtual name was requested), or `depends of curl`, `pre-depends of dpkg via awk`, `recommends of x`.
   */
  reasons: Map<string, string>;
  /** Installed packages the archive has newer versions of, sorted by name; empty without `installed`. */
  held: HeldPackage[];
}

/**
 * Resolves `requests` (`name`, `name=version` or `name/suite`) against the `universe` of records
 * from every suite. Throws PACKAGE_UNKNOWN, PACKAGE_CONFLICT or DEPENDENCY_UNSATISFIABLE.
 */
export function resolvePackages(
  universe: readonly PackageRecord[],
  requests: readonly string[],
  options: ResolveOptions,
): Resolution {
  const parsed = requests.map(parseRequest);
  const candidates = new CandidateTable(universe, options);
  candidates.pin(parsed);
  const search = new Search(candidates);
  const state = search.run(search.initialState(parsed));
  const names = [...state.selected.keys()]
    .filter((name) => !(state.selected.get(name) as Selection).pull.installed)
    .sort(compareNames);
  return {
    packages: names.map((name) => (state.selected.get(name) as Selection).record),
    reasons: new Map(names.map((name) => [name, describePull((state.selected.get(name) as Selection).pull)])),
    held: candidates.held(),
  };
}

type DependencyField = 'Pre-Depends' | 'Depends' | 'Recommends';

interface PackageRequest {
  text: string;
  name: string;
  version?: string;
  suite?: string;
}

/** A dependency group of one package, already restricted to the target architecture. */
interface Need {
  field: DependencyField;
  group: RelationGroup;
}

/** A candidate that satisfies a relation, directly or through its Provides (`via` the virtual name). */
interface Option {
  record: PackageRecord;
  via?: string;
}

/** Who pulled a package in; no `by` means it was requested, `installed` that it was there already. */
interface Pull {
  by?: string;
  field?: DependencyField;
  via?: string;
  installed?: true;
}

interface Selection {
  record: PackageRecord;
  pull: Pull;
}

interface ConflictClaim {
  field: 'Conflicts' | 'Breaks';
  relation: Relation;
}

interface ProvidedName {
  record: PackageRecord;
  version?: string;
}

/** A partial solution. Cloned at each choice, so backtracking is just dropping the clone. */
interface SearchState {
  selected: Map<string, Selection>;
  /** Names in selection order; each one's needs are expanded in turn. */
  queue: string[];
  next: number;
  nextNeed: number;
}

/** The package name of each relation in a field: what follows a comma or a bar, up to a space, `(`, `:` or `[`. */
const relationNames = /(?:^|[,|])\s*([^\s,|(:[<]+)/g;

/** A map's entry of one record or several, as a list. */
function listOf(entry: PackageRecord | PackageRecord[] | undefined): PackageRecord[] {
  return entry === undefined ? [] : Array.isArray(entry) ? entry : [entry];
}

/** Backtracking is for the odd alternative; a hopeless request must fail fast, not explore 2^n paths. */
const maxBacktracks = 1000;

const recoverableCodes = new Set(['PACKAGE_CONFLICT', 'DEPENDENCY_UNSATISFIABLE']);

function parseRequest(text: string): PackageRequest {
  const match = /^([a-z0-9][a-z0-9+.-]*)(?:=(\S+)|\/(\S+))?$/i.exec(text.trim());
  if (!match?.[1]) {
    throw new DebianError(
      'PACKAGE_UNKNOWN',
      `requested package "${text}" is not a package name; expected "name", "name=version" or "name/suite"`,
    );
  }
  return {
    text,
    name: match[1],
    ...(match[2] ? { version: match[2] } : {}),
    ...(match[3] ? { suite: match[3] } : {}),
  };
}

/** The records eligible for the target architecture, one candidate per name, and who provides what. */
class CandidateTable {
  readonly architecture: string;
  readonly recommends: boolean;
  readonly suites: string[];
  private readonly withoutDependencies: ReadonlySet<string>;
  /** Installed records by name; each is the candidate of its name, whatever the archive offers. */
  readonly installed = new Map<string, PackageRecord>();
  /** All eligible records per name, best first. */
  /**
   * The archive's records of each name, best first. One record where a name has one (nearly all of
   * Debian's 63,000), a list only where it has more: an array for each name would be 4 MB.
   */
  private readonly versions = new Map<string, PackageRecord | PackageRecord[]>();
  private readonly otherArchitectures = new Map<string, Set<string>>();
  private readonly candidates = new Map<string, PackageRecord>();
  private readonly providers = new Map<string, ProvidedName[]>();
  private readonly claims = new Map<string, { by: PackageRecord; claim: ConflictClaim }[]>();
  private readonly mentions = new Map<
    'provides' | 'conflicts',
    Map<string, PackageRecord | PackageRecord[]>
  >();
  private readonly needCache = new Map<PackageRecord, Need[]>();
  private readonly claimCache = new Map<PackageRecord, ConflictClaim[]>();
  private readonly provideCache = new Map<PackageRecord, { name: string; version?: string }[]>();
  private readonly optionCache = new Map<string, Option[]>();

  constructor(universe: readonly PackageRecord[], options: ResolveOptions) {
    this.architecture = options.architecture;
    this.recommends = options.recommends;
    this.withoutDependencies = new Set(options.withoutDependencies ?? []);
    const suiteRank = new Map((options.suites ?? []).map((suite, index) => [suite, index]));
    for (const record of universe) {
      if (!suiteRank.has(record.suite)) suiteRank.set(record.suite, suiteRank.size);
      if (record.architecture !== this.architecture && record.architecture !== 'all') {
        const arches = this.otherArchitectures.get(record.name) ?? new Set();
        this.otherArchitectures.set(record.name, arches.add(record.architecture));
        continue;
      }
      const known = this.versions.get(record.name);
      if (known === undefined) this.versions.set(record.name, record);
      else if (Array.isArray(known)) known.push(record);
      else this.versions.set(record.name, [known, record]);
    }
    this.suites = [...suiteRank.keys()];
    const rank = (record: PackageRecord) => suiteRank.get(record.suite) ?? 0;
    for (const [name, list] of this.versions) {
      if (!Array.isArray(list)) {
        this.candidates.set(name, list);
        continue;
      }
      // Everything after version and suite only makes duplicate stanzas order the same in any input order.
      list.sort(
        (a, b) =>
          compareDebianVersions(b.version, a.version) ||
          rank(a) - rank(b) ||
          Number(b.architecture === this.architecture) - Number(a.architecture === this.architecture) ||
          compareNames(a.repository, b.repository) ||
          compareNames(a.filename, b.filename) ||
          compareNames(a.sha256, b.sha256),
      );
      this.candidates.set(name, list[0] as PackageRecord);
    }
    for (const record of options.installed ?? []) {
      if (record.architecture !== this.architecture && record.architecture !== 'all') continue;
      this.installed.set(record.name, record);
      this.candidates.set(record.name, record);
    }
  }

  /** The archive's best record of each installed name, where it is newer than the installed one. */
  held(): HeldPackage[] {
    const held: HeldPackage[] = [];
    for (const [name, installed] of this.installed) {
      const available = this.versionsOf(name)[0];
      if (available && compareDebianVersions(available.version, installed.version) > 0) {
        held.push({ installed, available });
      }
    }
    return held.sort((a, b) => compareNames(a.installed.name, b.installed.name));
  }

  /** `name=version` and `name/suite` replace the candidate for that name, for the whole resolution. */
  pin(requests: readonly PackageRequest[]): void {
    const pinnedBy = new Map<string, PackageRequest>();
    for (const request of requests) {
      if (request.version === undefined && request.suite === undefined) continue;
      const installed = this.installed.get(request.name);
      if (installed) {
        this.checkInstalledPin(request, installed);
        continue;
      }
      const list = this.versionsOf(request.name);
      const record = list.find((r) =>
        request.version !== undefined
          ? compareDebianVersions(r.version, request.version) === 0
          : r.suite === request.suite,
      );
      if (!record) {
        const available = list.map((r) => `${r.version} (${r.suite})`).join(', ');
        throw new DebianError(
          'PACKAGE_UNKNOWN',
          `requested ${request.text} is not available for ${this.architecture}; ${
            available ? `${request.name} has ${available}` : `there is no package ${request.name}`
          }`,
        );
      }
      const earlier = pinnedBy.get(request.name);
      if (earlier && this.candidates.get(request.name) !== record) {
        throw new DebianError(
          'PACKAGE_CONFLICT',
          `requested ${earlier.text} and ${request.text} pick different versions of ${request.name}`,
        );
      }
      pinnedBy.set(request.name, request);
      this.candidates.set(request.name, record);
    }
  }

  /**
   * A pin is a demand, not a preference: one that an installed package does not meet fails, since
   * the installed version is never replaced and taking it instead would ignore what was asked.
   */
  private checkInstalledPin(request: PackageRequest, installed: PackageRecord): void {
    const wanted =
      request.version ?? this.versionsOf(request.name).find((r) => r.suite === request.suite)?.version;
    if (wanted !== undefined && compareDebianVersions(wanted, installed.version) === 0) return;
    const offered =
      request.suite === undefined ? '' : ` (${request.suite} has ${wanted ?? `no ${request.name}`})`;
    throw new DebianError(
      'PACKAGE_CONFLICT',
      `requested ${request.text}${offered}, but the base image has ${request.name} ${installed.version} installed, and its packages are never replaced; drop the pin or rebuild the base`,
    );
  }

  candidate(name: string): PackageRecord | undefined {
    return this.candidates.get(name);
  }

  /** Candidates that provide `name`, sorted by their own name so the choice among them is stable. */
  providersOf(name: string): ProvidedName[] {
    let providers = this.providers.get(name);
    if (!providers) {
      providers = [];
      for (const record of this.mentioning('provides', name)) {
        for (const provided of this.provided(record)) {
          if (provided.name !== name) continue;
          providers.push(provided.version === undefined ? { record } : { record, version: provided.version });
        }
      }
      providers.sort((a, b) => compareNames(a.record.name, b.record.name));
      this.providers.set(name, providers);
    }
    return providers;
  }

  /** Conflicts and Breaks of every candidate that target `name`, to check a new selection quickly. */
  claimsAgainst(name: string): { by: PackageRecord; claim: ConflictClaim }[] {
    let claims = this.claims.get(name);
    if (!claims) {
      claims = [];
      for (const record of this.mentioning('conflicts', name)) {
        for (const claim of this.conflictClaims(record)) {
          if (claim.relation.name === name) claims.push({ by: record, claim });
        }
      }
      this.claims.set(name, claims);
    }
    return claims;
  }

  /**
   * Candidates whose Provides (or Conflicts and Breaks) name `name`, in candidate order. The
   * names are picked out of every candidate's field once, without parsing it: Debian's index
   * has thousands of such fields (some Provides list a thousand names), and a resolution parses
   * only those of the few names it asks about.
   */
  private mentioning(kind: 'provides' | 'conflicts', name: string): PackageRecord[] {
    let index = this.mentions.get(kind);
    if (!index) {
      index = new Map();
      for (const record of this.candidates.values()) {
        const text = kind === 'provides' ? record.provides : `${record.conflicts},${record.breaks}`;
        if (text === '' || text === ',') continue;
        for (const match of text.matchAll(relationNames)) {
          const known = index.get(match[1] as string);
          if (known === undefined) index.set(match[1] as string, record);
          else if (Array.isArray(known)) {
            if (known[known.length - 1] !== record) known.push(record);
          } else if (known !== record) index.set(match[1] as string, [known, record]);
        }
      }
      this.mentions.set(kind, index);
    }
    return listOf(index.get(name));
  }

  /** The archive's records of `name`, best first. */
  private versionsOf(name: string): readonly PackageRecord[] {
    return listOf(this.versions.get(name));
  }

  /** Pre-Depends first: they must hold before the package is even unpacked. */
  needs(record: PackageRecord): Need[] {
    if (this.withoutDependencies.has(record.name)) return [];
    let needs = this.needCache.get(record);
    if (!needs) {
      const fields: [DependencyField, string][] = [
        ['Pre-Depends', record.preDepends],
        ['Depends', record.depends],
      ];
      if (this.recommends) fields.push(['Recommends', record.recommends]);
      needs = fields.flatMap(([field, text]) =>
        this.relations(record, { field, text }).map((group) => ({ field, group })),
      );
      this.needCache.set(record, needs);
    }
    return needs;
  }

  conflictClaims(record: PackageRecord): ConflictClaim[] {
    let claims = this.claimCache.get(record);
    if (!claims) {
      claims = (['Conflicts', 'Breaks'] as const).flatMap((field) =>
        this.relations(record, { field, text: field === 'Conflicts' ? record.conflicts : record.breaks })
          .flat()
          .map((relation) => ({ field, relation })),
      );
      this.claimCache.set(record, claims);
    }
    return claims;
  }

  /** Every candidate that satisfies `relation`: the real package of that name first, then providers by name. */
  optionsFor(relation: Relation): Option[] {
    const key = formatRelation(relation);
    let options = this.optionCache.get(key);
    if (!options) {
      options = [];
      const real = this.candidates.get(relation.name);
      if (real && this.satisfiesDirectly(real, relation, 'depends')) options.push({ record: real });
      for (const provider of this.providersOf(relation.name)) {
        if (provider.record.name === relation.name) continue;
        if (this.satisfiesThroughProvides(provider, relation, 'depends')) {
          options.push({ record: provider.record, via: relation.name });
        }
      }
      this.optionCache.set(key, options);
    }
    return options;
  }

  /** Whether `claim` (a Conflicts or Breaks of another package) hits `target`. */
  claimHits(claim: ConflictClaim, target: PackageRecord): boolean {
    const relation = claim.relation;
    if (target.name === relation.name) return this.satisfiesDirectly(target, relation, 'conflicts');
    return this.provided(target).some(
      (provided) =>
        provided.name === relation.name &&
        this.satisfiesThroughProvides(
          provided.version === undefined ? { record: target } : { record: target, version: provided.version },
          relation,
          'conflicts',
        ),
    );
  }

  /** Why nothing satisfies `relation`, for the error message. */
  explainUnsatisfied(relation: Relation): string {
    const list = this.versionsOf(relation.name);
    const real = this.candidates.get(relation.name);
    const providers = this.providersOf(relation.name).filter((p) => p.record.name !== relation.name);
    const parts: string[] = [];
    if (real && this.installed.get(real.name) === real) {
      const newer = list.filter((r) => compareDebianVersions(r.version, real.version) > 0);
      const also =
        newer.length > 0
          ? `; the archive's ${newer.map((r) => `${r.version} (${r.suite})`).join(', ')} is not taken`
          : '';
      parts.push(`${real.name} ${real.version} is installed in the base image and is never upgraded${also}`);
    } else if (real) {
      const qualifier = relation.archQualifier;
      if (qualifier && !this.satisfiesArchQualifier(real, qualifier, 'depends')) {
        parts.push(
          `${real.name} ${real.version} is Multi-Arch: ${real.multiArch ?? 'no'}, which :${qualifier} rules out`,
        );
      } else {
        const others = list.filter((r) => r !== real).map((r) => `${r.version} (${r.suite})`);
        const also = others.length > 0 ? `, other versions ${others.join(', ')}` : '';
        parts.push(`${real.name} ${real.version} (${real.suite}) is the candidate${also}`);
      }
    }
    if (providers.length > 0) {
      const named = providers.map((p) => (p.version ? `${p.record.name} (= ${p.version})` : p.record.name));
      parts.push(`${relation.name} is provided by ${named.join(', ')}`);
    }
    if (parts.length === 0) {
      const elsewhere = this.otherArchitectures.get(relation.name);
      parts.push(
        elsewhere
          ? `${relation.name} exists only for ${[...elsewhere].sort().join(', ')}`
          : `no package ${relation.name} in ${this.suites.join(', ') || 'any suite'}`,
      );
    }
    return parts.join('; ');
  }

  private relations(record: PackageRecord, input: { field: string; text: string }): RelationGroup[] {
    if (input.text.trim() === '') return [];
    const groups = parseRelations(input.text, {
      context: `${input.field} of ${record.name} ${record.version}`,
    });
    return relationsForArchitecture(groups, this.architecture);
  }

  /** The names a record provides, with the version of `(= version)` entries. */
  provided(record: PackageRecord): { name: string; version?: string }[] {
    let provided = this.provideCache.get(record);
    if (!provided) {
      provided = this.relations(record, { field: 'Provides', text: record.provides })
        .flat()
        .map((relation) =>
          relation.op === '=' && relation.version !== undefined
            ? { name: relation.name, version: relation.version }
            : { name: relation.name },
        );
      this.provideCache.set(record, provided);
    }
    return provided;
  }

  private satisfiesDirectly(
    record: PackageRecord,
    relation: Relation,
    kind: 'depends' | 'conflicts',
  ): boolean {
    if (!this.satisfiesArchQualifier(record, relation.archQualifier, kind)) return false;
    if (relation.op === undefined || relation.version === undefined) return true;
    return satisfiesRelation(record.version, relation.op, relation.version);
  }

  /** Policy §7.5: an unversioned Provides never satisfies a versioned relation. */
  private satisfiesThroughProvides(
    provider: ProvidedName,
    relation: Relation,
    kind: 'depends' | 'conflicts',
  ): boolean {
    if (!this.satisfiesArchQualifier(provider.record, relation.archQualifier, kind)) return false;
    if (relation.op === undefined || relation.version === undefined) return true;
    return (
      provider.version !== undefined && satisfiesRelation(provider.version, relation.op, relation.version)
    );
  }

  /** dpkg's deparchsatisfied: Multi-Arch decides what `:any` and an architecture qualifier accept. */
  private satisfiesArchQualifier(
    record: PackageRecord,
    qualifier: string | undefined,
    kind: 'depends' | 'conflicts',
  ): boolean {
    if (record.multiArch === 'foreign') return true;
    if (qualifier === 'any') return record.multiArch === 'allowed' || kind === 'conflicts';
    const wanted = qualifier === undefined || qualifier === 'native' ? this.architecture : qualifier;
    const actual = record.architecture === 'all' ? this.architecture : record.architecture;
    return wanted === actual;
  }
}

class Search {
  private backtracks = 0;

  constructor(private readonly candidates: CandidateTable) {}

  /** Requested packages are selected before any dependency, so alternatives prefer what was asked for. */
  initialState(requests: readonly PackageRequest[]): SearchState {
    const state: SearchState = { selected: new Map(), queue: [], next: 0, nextNeed: 0 };
    // Not queued: the base's own dependencies were its build's business, and are not followed again.
    for (const record of this.candidates.installed.values()) {
      state.selected.set(record.name, { record, pull: { installed: true } });
    }
    const real = requests
      .filter((r) => this.candidates.candidate(r.name))
      .sort((a, b) => compareNames(a.name, b.name));
    for (const request of real) {
      const record = this.candidates.candidate(request.name) as PackageRecord;
      if (!state.selected.has(record.name)) this.select(state, { record }, {});
    }
    const virtual = requests
      .filter((r) => !this.candidates.candidate(r.name))
      .sort((a, b) => compareNames(a.name, b.name));
    for (const request of virtual) {
      const options = this.candidates.optionsFor({ name: request.name });
      if (options.length === 0) {
        throw new DebianError(
          'PACKAGE_UNKNOWN',
          `requested package "${request.name}" is not in any suite for ${this.candidates.architecture}: ${this.candidates.explainUnsatisfied({ name: request.name })}`,
        );
      }
      if (options.some((option) => state.selected.has(option.record.name))) continue;
      const option = options[0] as Option;
      this.select(state, option, { via: request.name });
    }
    return state;
  }

  /** Expands needs in selection order until every selected package's needs hold. */
  run(state: SearchState): SearchState {
    while (state.next < state.queue.length) {
      const current = state.selected.get(state.queue[state.next] as string) as Selection;
      const needs = this.candidates.needs(current.record);
      while (state.nextNeed < needs.length) {
        const need = needs[state.nextNeed] as Need;
        state.nextNeed++;
        if (this.isSatisfied(need, state)) continue;
        const options = this.optionsFor(need);
        const pull = (option: Option): Pull => ({
          by: current.record.name,
          field: need.field,
          ...(option.via ? { via: option.via } : {}),
        });
        if (options.length === 0) {
          if (need.field === 'Recommends') continue;
          throw this.unsatisfiable(need, { current, state });
        }
        if (options.length === 1 && need.field !== 'Recommends') {
          const option = options[0] as Option;
          this.select(state, option, pull(option));
          continue;
        }
        // A Recommends may also be left out, as the last resort.
        const choices: (Option | undefined)[] =
          need.field === 'Recommends' ? [...options, undefined] : options;
        return this.branch(
          state,
          choices.map((option) => (option ? { option, pull: pull(option) } : undefined)),
        );
      }
      state.next++;
      state.nextNeed = 0;
    }
    return state;
  }

  /** Tries each choice on a copy of the state; the first choice's failure is the one reported. */
  private branch(state: SearchState, choices: ({ option: Option; pull: Pull } | undefined)[]): SearchState {
    let firstFailure: unknown;
    for (const [index, choice] of choices.entries()) {
      if (index > 0) {
        if (this.backtracks >= maxBacktracks) break;
        this.backtracks++;
      }
      const trial: SearchState = { ...state, selected: new Map(state.selected), queue: [...state.queue] };
      try {
        if (choice) this.select(trial, choice.option, choice.pull);
        return this.run(trial);
      } catch (error) {
        if (!(error instanceof DebianError) || !recoverableCodes.has(error.code)) throw error;
        firstFailure ??= error;
      }
    }
    throw firstFailure;
  }

  private isSatisfied(need: Need, state: SearchState): boolean {
    // Selected records are always candidates, so a selected name among the options means it holds.
    return need.group.some((relation) =>
      this.candidates.optionsFor(relation).some((option) => state.selected.has(option.record.name)),
    );
  }

  /** The options of each alternative in order, each package once. */
  private optionsFor(need: Need): Option[] {
    const seen = new Set<string>();
    const options: Option[] = [];
    for (const relation of need.group) {
      for (const option of this.candidates.optionsFor(relation)) {
        if (seen.has(option.record.name)) continue;
        seen.add(option.record.name);
        options.push(option);
      }
    }
    return options;
  }

  private select(state: SearchState, option: Option, pull: Pull): void {
    const record = option.record;
    for (const claim of this.candidates.conflictClaims(record)) {
      for (const target of this.selectedAnswering(claim.relation.name, state)) {
        if (target.record !== record && this.candidates.claimHits(claim, target.record)) {
          throw this.conflict({ by: record, byPull: pull, claim, target: target.record }, state);
        }
      }
    }
    for (const name of [record.name, ...this.candidates.provided(record).map((p) => p.name)]) {
      for (const { by, claim } of this.candidates.claimsAgainst(name)) {
        const holder = state.selected.get(by.name);
        if (holder?.record === by && by !== record && this.candidates.claimHits(claim, record)) {
          throw this.conflict({ by, byPull: holder.pull, claim, target: record, targetPull: pull }, state);
        }
      }
    }
    state.selected.set(record.name, { record, pull });
    state.queue.push(record.name);
  }

  /** Selected packages named `name` or providing it. */
  private selectedAnswering(name: string, state: SearchState): Selection[] {
    const found: Selection[] = [];
    const direct = state.selected.get(name);
    if (direct) found.push(direct);
    for (const provider of this.candidates.providersOf(name)) {
      const selection = state.selected.get(provider.record.name);
      if (selection && selection !== direct && selection.record === provider.record) found.push(selection);
    }
    return found;
  }

  private conflict(
    input: {
      by: PackageRecord;
      byPull: Pull;
      claim: ConflictClaim;
      target: PackageRecord;
      targetPull?: Pull;
    },
    state: SearchState,
  ): DebianError {
    const { by, claim, target } = input;
    const targetChain = input.targetPull
      ? chainOf(target.name, { pull: input.targetPull, state })
      : chainOf(target.name, { state });
    const byChain = input.targetPull
      ? chainOf(by.name, { state })
      : chainOf(by.name, { pull: input.byPull, state });
    return new DebianError(
      'PACKAGE_CONFLICT',
      `${by.name} ${by.version} ${claim.field === 'Conflicts' ? 'conflicts with' : 'breaks'} ${target.name} ${
        target.version
      } ("${formatRelation(claim.relation)}" in its ${claim.field}); chains: ${byChain} and ${targetChain}`,
    );
  }

  private unsatisfiable(need: Need, context: { current: Selection; state: SearchState }): DebianError {
    const record = context.current.record;
    const why = need.group.map((relation) => this.candidates.explainUnsatisfied(relation)).join('; ');
    return new DebianError(
      'DEPENDENCY_UNSATISFIABLE',
      `${record.name} ${record.version} ${need.field.toLowerCase()} on "${formatRelationGroup(need.group)}", which no ${
        this.candidates.architecture
      } package satisfies: ${why}; chain: ${chainOf(record.name, { state: context.state })}`,
    );
  }
}

/** `app (requested) → curl → libssl3`: from the request that started it down to `name`. */
function chainOf(name: string, context: { state: SearchState; pull?: Pull }): string {
  const names = [name];
  let pull = context.pull ?? context.state.selected.get(name)?.pull;
  while (pull?.by !== undefined && !names.includes(pull.by)) {
    names.unshift(pull.by);
    pull = context.state.selected.get(pull.by)?.pull;
  }
  const via = pull?.via ? ` via ${pull.via}` : '';
  names[0] = `${names[0]} (${pull?.installed ? 'installed in the base image' : `requested${via}`})`;
  return names.join(' → ');
}

function describePull(pull: Pull): string {
  const via = pull.via ? ` via ${pull.via}` : '';
  if (pull.by === undefined) return `requested${via}`;
  return `${(pull.field ?? 'Depends').toLowerCase()} of ${pull.by}${via}`;
}

/** Code point order: stable across locales, unlike localeCompare. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
