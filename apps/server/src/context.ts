// Per-request context: who is calling (role from the bearer token) and whether a mutation
// would be same-origin. Built from plain headers so createCaller tests use the same path.

import type { IncomingHttpHeaders } from 'node:http';
import { bearerToken, tokenMatches, type Role } from './auth.ts';
import type { Services } from './services.ts';

export interface Context {
  services: Services;
  role: Role;
  /** Why the caller is not an operator, when it is not ('no token' / 'invalid token'). */
  authProblem: string | null;
  /** The Origin header when present and not one of the server's own origins. */
  foreignOrigin: string | null;
}

export interface ContextInput {
  headers: IncomingHttpHeaders | Record<string, string | undefined>;
  /** Origins the server answers on (http://127.0.0.1:7070, http://localhost:7070, …). */
  ownOrigins: ReadonlySet<string>;
}

export function createContext(services: Services, input: ContextInput): Context {
  const header = (name: string): string | undefined => {
    const v = input.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const token = bearerToken(header('authorization'));
  let role: Role = 'viewer';
  let authProblem: string | null = 'no operator token';
  if (token !== null) {
    if (tokenMatches(token, services.operatorToken)) {
      role = 'operator';
      authProblem = null;
    } else {
      authProblem = 'invalid operator token';
    }
  }
  const origin = header('origin');
  const foreignOrigin = origin !== undefined && !input.ownOrigins.has(origin) ? origin : null;
  return { services, role, authProblem, foreignOrigin };
}
