import { contentDetectors } from '../secrets/content-detectors.js';
import { isCredentialName, isSecretLikeValue } from '../secrets/high-entropy-assignments.js';
import { secretRule } from '../secrets/secret-rules.js';
import { cisDocker, dockle } from './references.js';
import { everyProfile, type HardeningRule, type RuleResult } from './rule.js';

/**
 * The environment baked into the image config, which `docker inspect` shows anyone who can pull
 * the image. A value in a token format or a random-looking value under a credential name is an
 * error; a credential name with a tame value (`DB_PASSWORD_FILE=/run/secrets/db`) is a warning,
 * since the spec only lets such a default through when it says `secret: false`. Messages name the
 * variable, never its value.
 */
export const envSecretDefaults: HardeningRule = {
  id: 'HERD-H008',
  name: 'env-secret-defaults',
  title: 'No environment defaults that look like secrets',
  severity: 'error',
  rationale:
    'Environment defaults are part of the image config: every registry, cache and host that holds the image holds them. Secrets come from the environment at start, never from the image.',
  references: [
    cisDocker('4.10', 'Ensure secrets are not stored in Dockerfiles'),
    dockle('CIS-DI-0010', 'Do not store secrets in Dockerfiles'),
  ],
  profiles: everyProfile,
  check({ view }) {
    const results: RuleResult[] = [];
    for (const entry of view.config.config.Env ?? []) {
      const equals = entry.indexOf('=');
      const name = equals < 0 ? entry : entry.slice(0, equals);
      const value = equals < 0 ? '' : entry.slice(equals + 1);
      if (name === 'PATH' || value === '') continue;
      const location = { setting: `config.Env.${name}` };
      const token = contentDetectors.find((detector) => detector.find(value, '').length > 0);
      if (token) {
        results.push({ message: `${name} holds a ${secretRule(token.rule).title}`, location });
      } else if (isCredentialName(name)) {
        results.push(
          isSecretLikeValue(value)
            ? { message: `${name} is named like a credential and has a random-looking default`, location }
            : { message: `${name} is named like a credential and has a default`, location, level: 'warning' },
        );
      }
    }
    return results;
  },
};
