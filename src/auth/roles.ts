/**
 * Who may do what, as data: four fixed roles, like Kubernetes' default cluster roles (view, edit,
 * admin), each a plain list of permissions. Each role lists everything it grants, so a role's
 * powers read from one line; roles.test.ts checks the whole matrix and that each role holds the
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
  /** Images from /v2/, when `herd serve --v2-auth token` asks for a token there. */
  'images:pull',
  'fleets:scale',
  'fleets:rollback',
  /** The deep integrity check of one instance, which replaces it when it changed. */
  'instances:verify',
  /** A new release (or a first template) onto a fleet. */
  'fleets:rollout',
  /** Create, list and revoke tokens. */
  'tokens:manage',
  /**
   * Break-glass: a shell in an instance (`herd debug`), journaled and recorded, the instance
   * destroyed after. The one way into an instance; admins only.
   */
  'instances:debug',
] as const;
export type Permission = (typeof permissions)[number];

export const rolePermissions: Readonly<Record<Role, readonly Permission[]>> = {
  viewer: ['fleets:read', 'logs:read', 'incidents:read', 'journal:read', 'images:pull'],
  operator: [
    'fleets:read',
    'logs:read',
    'incidents:read',
    'journal:read',
    'images:pull',
    'fleets:scale',
    'fleets:rollback',
    'instances:verify',
  ],
  releaser: [
    'fleets:read',
    'logs:read',
    'incidents:read',
    'journal:read',
    'images:pull',
    'fleets:scale',
    'fleets:rollback',
    'instances:verify',
    'fleets:rollout',
  ],
  admin: [...permissions],
};

export function roleGrants(role: Role, permission: Permission): boolean {
  return rolePermissions[role].includes(permission);
}

export function isRole(value: string): value is Role {
  return (roles as readonly string[]).includes(value);
}
