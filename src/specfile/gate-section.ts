/**
 * herd.yaml's `gate:` section: which profile judges the image, the waivers that excuse findings for a
 * while, the setuid files the service needs, its size budget, and how old the vulnerability data may
 * be. The schema is the untrusted edge (every field says what it expects, unknown fields are errors)
 * and its output, `GateSection`, carries every default. The rules themselves live in src/gate.
 */
import { posix } from 'node:path';
import { z } from 'zod';
import { describeValue } from './errors.js';
import {
  defaultGateProfile,
  defaultVulndbMaxAgeDays,
  type GateSectionShape,
  type GateWaiver,
} from './gate-defaults.js';
import {
  expecting,
  fields,
  listOf,
  optional,
  pattern,
  text,
  uniqueItems,
  whenValid,
  wholeNumber,
} from './schema-fields.js';

export {
  defaultGateProfile,
  defaultGateSection,
  defaultVulndbMaxAgeDays,
  type GateProfile,
  type GateWaiver,
  type WaiverTerms,
} from './gate-defaults.js';

/** The section validated, every default filled in (the type of the schema `GateSection` below). */
export type GateSection = GateSectionShape;

/** herd's rule ids (HERD-H001 hardening, HERD-S001 secrets, HERD-V001 vulnerability data). */
export const gateRuleIdPattern = /^HERD-[HSV]\d{3}$/;

/** A CVE id, a Debian tracker id for an issue without a CVE yet, or a Debian advisory (DSA, DLA). */
export const vulnerabilityIdPattern = /^(?:CVE-\d{4}-\d{4,}|TEMP-\d{7}-[0-9A-F]{6}|D[LT]?SA-\d+-\d+)$/;

const dateExpectation = 'an expiry date YYYY-MM-DD such as 2025-12-31; every waiver expires';

/** A real calendar day: `2025-02-30` is refused rather than read as March 2nd. */
const ExpiryDate = z.string(expecting(dateExpectation)).superRefine((value, ctx) => {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const day = match ? new Date(`${value}T00:00:00Z`) : undefined;
  if (day && !Number.isNaN(day.getTime()) && day.toISOString().startsWith(value)) return;
  ctx.addIssue({
    code: 'custom',
    input: value,
    message: `expected ${dateExpectation}, got ${describeValue(value)}`,
  });
});

const imageFilePath = z
  .string(expecting('an absolute file path in the image such as /usr/bin/ping'))
  .superRefine((value, ctx) => {
    if (value.startsWith('/') && value !== '/' && posix.normalize(value) === value && !value.includes('\0'))
      return;
    ctx.addIssue({
      code: 'custom',
      input: value,
      message: `expected an absolute file path in the image such as /usr/bin/ping, got ${describeValue(value)}`,
    });
  });

const RawWaiver = fields(
  {
    rule: optional(pattern(gateRuleIdPattern, 'a gate rule id such as HERD-H002')),
    cve: optional(pattern(vulnerabilityIdPattern, 'a vulnerability id such as CVE-2024-12345')),
    path: optional(imageFilePath),
    reason: text('the reason the finding is accepted (a string)'),
    owner: text('who owns the waiver, such as a team or an email address'),
    expires: ExpiryDate,
  },
  'a mapping with rule or cve, reason, owner and expires',
).superRefine((raw, ctx) => {
  if ((raw.rule === undefined) === (raw.cve === undefined)) {
    ctx.addIssue({
      code: 'custom',
      input: raw,
      message: `expected exactly one of rule or cve, got ${raw.rule === undefined ? 'neither' : 'both'}`,
    });
  }
  if (raw.path !== undefined && raw.cve !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['path'],
      input: raw.path,
      message:
        'a path narrows a rule waiver; a cve waiver covers the vulnerability wherever it is, so remove path',
    });
  }
}, whenValid);

const Waiver = RawWaiver.transform((raw): GateWaiver => {
  const terms = { reason: raw.reason, owner: raw.owner, expires: raw.expires };
  if (raw.cve !== undefined) return { kind: 'cve', cve: raw.cve, ...terms };
  return {
    kind: 'rule',
    rule: raw.rule ?? '',
    ...(raw.path !== undefined ? { path: raw.path } : {}),
    ...terms,
  };
});

const Budget = fields(
  {
    packages: optional(wholeNumber('a package count from 1 to 100000', { min: 1, max: 100_000 })),
    sizeMB: optional(
      z
        .number(expecting('a size in megabytes above zero such as 150'))
        .positive(expecting('a size in megabytes above zero such as 150')),
    ),
  },
  'a mapping with packages and sizeMB',
);

const Vulndb = fields(
  { maxAgeDays: optional(wholeNumber('a number of days from 1 to 365', { min: 1, max: 365 })) },
  'a mapping with maxAgeDays',
);

const profileExpectation = 'a gate profile: baseline or strict';

/** The `gate:` section as written in herd.yaml; the type of the same name is what it becomes. */
export const GateSection = fields(
  {
    profile: optional(z.enum(['baseline', 'strict'], expecting(profileExpectation))),
    waivers: optional(listOf(Waiver, 'a list of waivers')),
    allowSetuid: optional(
      listOf(imageFilePath, 'a list of absolute file paths').check(
        uniqueItems(
          (path: string) => path,
          (path) => `path "${path}"`,
        ),
      ),
    ),
    budget: optional(Budget),
    vulndb: optional(Vulndb),
  },
  'a mapping with profile, waivers, allowSetuid, budget and vulndb',
).transform(
  (raw): GateSection => ({
    profile: raw.profile ?? defaultGateProfile,
    waivers: raw.waivers ?? [],
    allowSetuid: raw.allowSetuid ?? [],
    ...(raw.budget
      ? {
          budget: {
            ...(raw.budget.packages !== undefined ? { packages: raw.budget.packages } : {}),
            ...(raw.budget.sizeMB !== undefined ? { sizeMB: raw.budget.sizeMB } : {}),
          },
        }
      : {}),
    vulndb: { maxAgeDays: raw.vulndb?.maxAgeDays ?? defaultVulndbMaxAgeDays },
  }),
);
