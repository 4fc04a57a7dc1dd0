/**
 * Every hardening rule, by id, in a plain Map (as Renovate registers its managers). Adding a rule
 * is one module and one line here; registry.test.ts checks every rule's contract.
 */
import type { Profile } from '../findings.js';
import { envSecretDefaults } from './env-secret-defaults.js';
import { fileManifestMatchesLayers } from './file-manifest-matches-layers.js';
import { healthCheck } from './health-check.js';
import { maintainerScriptsReproduced } from './maintainer-scripts-reproduced.js';
import { noEmptyPasswords } from './no-empty-passwords.js';
import { noPackageManager } from './no-package-manager.js';
import { noShell } from './no-shell.js';
import { nonRootUser } from './non-root-user.js';
import { packageBudget } from './package-budget.js';
import { remoteLoginPackages } from './remote-login-packages.js';
import type { HardeningRule } from './rule.js';
import { setuidFiles } from './setuid-files.js';
import { signedSuites } from './signed-suites.js';
import { uniqueAccountIds } from './unique-account-ids.js';
import { worldWritablePaths } from './world-writable-paths.js';
import { writableRootFilesystem } from './writable-root-filesystem.js';

export const hardeningRules: ReadonlyMap<string, HardeningRule> = new Map(
  [
    nonRootUser,
    setuidFiles,
    worldWritablePaths,
    remoteLoginPackages,
    noShell,
    noPackageManager,
    healthCheck,
    envSecretDefaults,
    uniqueAccountIds,
    noEmptyPasswords,
    packageBudget,
    signedSuites,
    fileManifestMatchesLayers,
    writableRootFilesystem,
    maintainerScriptsReproduced,
  ].map((rule) => [rule.id, rule]),
);

/** The rules a profile evaluates, in id order. */
export function rulesFor(profile: Profile): HardeningRule[] {
  return [...hardeningRules.values()].filter((rule) => rule.profiles.includes(profile));
}
