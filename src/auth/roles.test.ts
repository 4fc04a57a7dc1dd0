import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { actorOf, callerCan } from './caller.js';
import { type Permission, permissions, type Role, roleGrants, rolePermissions, roles } from './roles.js';

const y = true;
const n = false;

/** The whole table, written out: one row per permission, one column per role. */
const expected: Record<Permission, Record<Role, boolean>> = {
  'fleets:read': { viewer: y, operator: y, releaser: y, admin: y },
  'logs:read': { viewer: y, operator: y, releaser: y, admin: y },
  'incidents:read': { viewer: y, operator: y, releaser: y, admin: y },
  'journal:read': { viewer: y, operator: y, releaser: y, admin: y },
  'pipeline:read': { viewer: y, operator: y, releaser: y, admin: y },
  'images:pull': { viewer: y, operator: y, releaser: y, admin: y },
  'fleets:scale': { viewer: n, operator: y, releaser: y, admin: y },
  'fleets:rollback': { viewer: n, operator: y, releaser: y, admin: y },
  'fleets:pause': { viewer: n, operator: y, releaser: y, admin: y },
  'instances:verify': { viewer: n, operator: y, releaser: y, admin: y },
  'fleets:rollout': { viewer: n, operator: n, releaser: y, admin: y },
  'pipeline:run': { viewer: n, operator: n, releaser: y, admin: y },
  'tokens:manage': { viewer: n, operator: n, releaser: n, admin: y },
  'instances:debug': { viewer: n, operator: n, releaser: n, admin: y },
};

describe('rolePermissions', () => {
  it('grants exactly the expected permissions, for every role and every permission', () => {
    assert.deepEqual(Object.keys(expected).sort(), [...permissions].sort());

    for (const permission of permissions) {
      for (const role of roles) {
        assert.equal(roleGrants(role, permission), expected[permission][role], `${role} ${permission}`);
      }
    }
  });

  it('lists each permission of a role once, and only known permissions', () => {
    for (const role of roles) {
      const listed = rolePermissions[role];

      assert.equal(new Set(listed).size, listed.length, role);
      for (const permission of listed) assert.ok(permissions.includes(permission), `${role}: ${permission}`);
    }
  });

  it('gives each role everything the role below it has, and more', () => {
    for (const [index, role] of roles.entries()) {
      const below = roles[index - 1];
      if (!below) continue;

      for (const permission of rolePermissions[below])
        assert.ok(roleGrants(role, permission), `${role} ${permission}`);
      assert.ok(rolePermissions[role].length > rolePermissions[below].length, role);
    }
  });

  it('keeps a debug session (the one way into an instance) to admins', () => {
    assert.deepEqual(
      roles.filter((role) => roleGrants(role, 'instances:debug')),
      ['admin'],
    );
  });

  it('lets only who may roll out start or approve a remediation run, which ends in a rollout', () => {
    assert.deepEqual(
      roles.filter((role) => roleGrants(role, 'pipeline:run')),
      roles.filter((role) => roleGrants(role, 'fleets:rollout')),
    );
  });

  it('keeps token management to admins and reads open to every role', () => {
    const reads = permissions.filter((p) => p.endsWith(':read') || p === 'images:pull');

    assert.deepEqual(
      roles.filter((role) => roleGrants(role, 'tokens:manage')),
      ['admin'],
    );
    for (const role of roles) for (const read of reads) assert.ok(roleGrants(role, read));
  });
});

describe('callers', () => {
  it('lets the local user over the socket do everything', () => {
    const local = { kind: 'local', user: 'alice' } as const;

    for (const permission of permissions) assert.ok(callerCan(local, permission));
    assert.equal(actorOf(local), 'local:alice');
  });

  it("limits a token to its role's permissions and names it by name and id", () => {
    const token = { kind: 'token', id: '0123456789ab', name: 'ci', role: 'operator' } as const;

    for (const permission of permissions) {
      assert.equal(callerCan(token, permission), expected[permission].operator, permission);
    }
    assert.equal(actorOf(token), 'token:ci:0123456789ab');
  });
});
