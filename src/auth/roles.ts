/**
 * Who may do what, as data: four fixed roles, like Kubernetes' default cluster roles (view, edit,
 * admin), each a plain list of permissions. Each role is the one below it plus what it adds;
 * roles.test.ts checks the whole matrix and that each role holds the
 * one below it. A route names the one permission it needs (src/server/authenticate.ts).
 */

export const roles = ['viewer', 'operator', 'releaser', 'admin'] as const;
export type Role = (typeof roles)[number];

export const permissions = [
  /** Fleets' status, instances and history. */
  'fleets:read',
  /** Instances' output from the log store. */
  'logs:read',
  'incidents:read',
  'journal:read',
  /** Remediation runs, their stages' output and findings (`herd pipeline`). */
  'pipeline:read',
  /** Images from /v2/, when `herd serve --v2-auth token` asks for a token there. */
  'images:pull',
  'fleets:scale',
  'fleets:rollback',
  /** `herd pause` and `herd resume`: hold a fleet's rollout, and let it go on (scaling goes on). */
  'fleets:pause',
  /** The deep integrity check of one instance, which replaces it when it changed. */
  'instances:verify',
  /** A new revision (or a first template) onto a fleet. */
  'fleets:rollout',
  /**
   * `herd check` (which may start remediation runs that release and roll out, as the spec's
   * policy says) and `herd approve` (a held run goes on to production and its rollout).
   */
  'pipeline:run',
  /** Create, list and revoke tokens. */
  'tokens:manage',
  /**
   * Break-glass: a shell in an instance (`herd debug`), journaled and recorded, the instance
   * destroyed after. The one way into an instance; admins only.
   */
  'instances:debug',
] as const;
export type Permission = (typeof permissions)[number];

const viewer: readonly Permission[] = [
  'fleets:read',
  'logs:read',
  'incidents:read',
  'journal:read',
  'pipeline:read',
  'images:pull',
];
const operator: readonly Permission[] = [
  ...viewer,
  'fleets:scale',
  'fleets:rollback',
  'fleets:pause',
  'instances:verify',
];
const releaser: readonly Permission[] = [...operator, 'fleets:rollout', 'pipeline:run'];

/** Each role is the one below it plus what it adds; admin holds every permission. */
export const rolePermissions: Readonly<Record<Role, readonly Permission[]>> = {
  viewer,
  operator,
  releaser,
  admin: [...permissions],
};

export function roleGrants(role: Role, permission: Permission): boolean {
  return rolePermissions[role].includes(permission);
}
