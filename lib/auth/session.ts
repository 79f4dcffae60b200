/**
 * Session tokens: HS256 JWTs signed with `SESSION_SECRET` (jose), carried in
 * an HttpOnly cookie or an `Authorization: Bearer` header.
 *
 * @module
 */

import { jwtVerify, SignJWT } from "jose";
import type { ChatUser } from "../chat/types.ts";

/** Name of the session cookie. */
export const SESSION_COOKIE = "roomcast_session";
/** Issuer and audience written into and required of every session token. */
export const SESSION_ISSUER = "roomcast";
/** Clock tolerance when verifying, in seconds. */
export const SESSION_CLOCK_TOLERANCE_S = 5;

/** A verified session: the user plus the token's times. */
export interface Session {
  user: ChatUser;
  /** This session's id (`jti`): sign-out revokes it everywhere. */
  sid: string;
  /** Issued at, seconds since the epoch. */
  iat: number;
  /** Expires at, seconds since the epoch. */
  exp: number;
}

const encoder = new TextEncoder();

/** Imports an HMAC-SHA-256 key once: jose would otherwise import raw bytes on every call. */
function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
}

/** Signs and verifies session tokens; accepts a previous secret during rotation. */
export class SessionSigner {
  readonly #key: Promise<CryptoKey>;
  readonly #previousKey: Promise<CryptoKey> | undefined;
  /** Lifetime of a new token, in seconds. */
  readonly ttlSeconds: number;

  constructor(
    secret: string,
    options: { previous?: string; ttlSeconds: number },
  ) {
    this.#key = hmacKey(secret);
    this.#previousKey = options.previous
      ? hmacKey(options.previous)
      : undefined;
    this.ttlSeconds = options.ttlSeconds;
  }

  /**
   * Issues a token for `user`: a new session, or with `sid` a renewal of that
   * session — the same id, so signing out revokes every token it was ever
   * renewed into.
   *
   * @example
   * ```ts
   * const signer = new SessionSigner("x".repeat(32), { ttlSeconds: 3600 });
   * const token = await signer.sign({ id: "guest:1", name: "Ana", kind: "guest" });
   * const renewed = await signer.sign(session.user, session.sid);
   * ```
   */
  async sign(
    user: ChatUser,
    sid: string = crypto.randomUUID(),
  ): Promise<string> {
    const claims: Record<string, string> = { name: user.name, kind: user.kind };
    if (user.picture) claims.picture = user.picture;
    // One clock reading for both: jose reads the clock for each otherwise,
    // and a second passing between them made the lifetime a second longer.
    const issuedAt = Math.floor(Date.now() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(user.id)
      .setJti(sid)
      .setIssuer(SESSION_ISSUER)
      .setAudience(SESSION_ISSUER)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + this.ttlSeconds)
      .sign(await this.#key);
  }

  /**
   * Verifies `token`; returns `null` for anything that is not a valid,
   * unexpired session. `currentDate` is the clock to check it against (now
   * when not given).
   */
  async verify(
    token: string | undefined | null,
    currentDate?: Date,
  ): Promise<Session | null> {
    if (!token || token.length > MAX_TOKEN_CHARS) return null;
    for (const key of [this.#key, this.#previousKey]) {
      if (!key) continue;
      try {
        const { payload } = await jwtVerify(token, await key, {
          algorithms: ["HS256"],
          issuer: SESSION_ISSUER,
          audience: SESSION_ISSUER,
          clockTolerance: SESSION_CLOCK_TOLERANCE_S,
          currentDate,
          requiredClaims: ["sub", "exp", "iat", "jti"],
        });
        const { sub, name, kind, picture, iat, exp, jti } = payload;
        if (
          typeof sub !== "string" || typeof name !== "string" ||
          typeof jti !== "string" ||
          (kind !== "guest" && kind !== "google")
        ) return null;
        const user: ChatUser = { id: sub, name, kind };
        if (typeof picture === "string") user.picture = picture;
        return { user, sid: jti, iat: iat!, exp: exp! };
      } catch {
        // Try the previous key, if any; otherwise the token is not ours.
      }
    }
    return null;
  }
}

/** Tokens longer than this are rejected without parsing. */
export const MAX_TOKEN_CHARS = 4_096;
