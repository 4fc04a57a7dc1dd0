/**
 * Who made a request, and the name the journal gives them. Over the control plane's Unix socket
 * (mode 0600) only the user who started it can connect, so that caller is that local user with
 * every permission; over TCP the caller is the token it presented.
 */
import { type Permission, type Role, roleGrants } from './roles.js';

export type Caller =
  | { kind: 'local'; user: string }
  | { kind: 'token'; id: string; name: string; role: Role };

/** `local:<user>` or `token:<name>:<id>`: what the journal records as the actor. */
export function actorOf(caller: Caller): string {
  switch (caller.kind) {
    case 'local':
      return `local:${caller.user}`;
    case 'token':
      return `token:${caller.name}:${caller.id}`;
  }
}

export function callerCan(caller: Caller, permission: Permission): boolean {
  switch (caller.kind) {
    case 'local':
      return true;
    case 'token':
      return roleGrants(caller.role, permission);
  }
}
