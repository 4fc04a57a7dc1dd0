import { everyProfile, type HardeningRule } from './rule.js';

/** Lines quoted per finding; the provenance has them all. */
const quotedLines = 5;

/**
 * herd never runs maintainer scripts; the build does what it can of theirs declaratively
 * (alternatives, system accounts, folders, links) and records the lines it could not reproduce in
 * the provenance. Each package with such lines is one warning, quoting them, so that someone
 * decides whether the service needs what they would have done.
 */
export const maintainerScriptsReproduced: HardeningRule = {
  id: 'HERD-H015',
  name: 'maintainer-scripts-reproduced',
  title: "What the packages' maintainer scripts would have done is in the image",
  severity: 'warning',
  rationale:
    'Maintainer scripts never run in a herd image. What they would have made (a link, an account, a file) and herd could not reproduce is missing, and a service that relies on it fails at run time rather than at build.',
  references: [],
  profiles: everyProfile,
  check({ view }) {
    return (view.unreproducedScripts ?? []).map(({ package: name, lines }) => ({
      message: `${name}: herd did not reproduce ${lines.length} maintainer script line${lines.length === 1 ? '' : 's'}: ${lines
        .slice(0, quotedLines)
        .join(
          ' | ',
        )}${lines.length > quotedLines ? ` | … (${lines.length - quotedLines} more in the provenance)` : ''}`,
      location: { package: name },
    }));
  },
};
