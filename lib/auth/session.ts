/**
 * Session tokens: HS256 JWTs signed with `SESSION_SECRET` (jose), carried in
 * an HttpOnly cookie or an `Authorization: Bearer` header.
 *
 * A token is checked once per process: what it said is remembered, by the
 * token's SHA-256, until it expires — and handed to the next process at a
 * graceful stop, signed, so the reconnects of a restart are not each a
 * signature check (in a 10,000-socket storm's profile, jose and WebCrypto
 * were ~13 % of the main thread per reconnect; the hash is ~3 µs).
 *
 * @module
 */

import { createHash } from "node:crypto";
import { base64url, jwtVerify, SignJWT } from "jose";
import type { ChatUser } from "../chat/types.ts";
import { LruMap } from "../lru.ts";
import {
  type HandoverChunk,
  MAX_HANDOVER_CHUNK_CHARS,
} from "../store/types.ts";

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

/**
 * Sessions remembered at most (the least recently verified forgotten
 * first): ~250 bytes each, ~25 MB at most; one per signed-in person with a
 * socket, and more than one process holds sockets (50,000 on one machine).
 */
export const MAX_REMEMBERED_SESSIONS = 100_000;
/**
 * What a handover's data begins with, so its MAC (by the session key) can
 * never be taken for a token's signature or the other way round.
 */
const HANDOVER_CONTEXT = "roomcast session handover 1\n";
/** A handover made longer ago than this is ignored: a start comes seconds after a stop. */
export const HANDOVER_MAX_AGE_MS = 5 * 60_000;

/** How the sessions a signer accepted were known: checked (jose), or remembered. */
export interface VerificationCounts {
  checked: number;
  remembered: number;
}

/** A session as a handover's data lists it. */
type HandedSession = [
  tokenHash: string,
  id: string,
  name: string,
  kind: ChatUser["kind"],
  picture: string | null,
  sid: string,
  iat: number,
  exp: number,
];

/**
 * What a remembered session is found by: the token's SHA-256 (base64url),
 * so the whole token must match, and what is kept (and handed over) is no
 * token — whoever reads the store cannot present it.
 */
function tokenHash(token: string): string {
  return createHash("sha256").update(token).digest("base64url");
}

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
  /** Sessions verified, by their token's {@link tokenHash}. */
  readonly #remembered = new LruMap<string, Session>(MAX_REMEMBERED_SESSIONS);
  readonly #now: () => number;
  /** Lifetime of a new token, in seconds. */
  readonly ttlSeconds: number;
  /** Sessions accepted, by how they were known (for `/metrics` and tests). */
  readonly verifications: VerificationCounts = { checked: 0, remembered: 0 };

  constructor(
    secret: string,
    options: {
      previous?: string;
      ttlSeconds: number;
      /** The clock tokens are checked by (ms since the epoch; the system's when not given). */
      now?: () => number;
    },
  ) {
    this.#key = hmacKey(secret);
    this.#previousKey = options.previous
      ? hmacKey(options.previous)
      : undefined;
    this.ttlSeconds = options.ttlSeconds;
    this.#now = options.now ?? Date.now;
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
   * unexpired session. A token verified before is not checked again while
   * it lives (its session is remembered, if the current key signed it).
   * `currentDate` is the clock to
   * check it against (now when not given; given, the token is checked in
   * full and not remembered). A remembered session is shared by every
   * caller that presents its token: do not change it.
   */
  async verify(
    token: string | undefined | null,
    currentDate?: Date,
  ): Promise<Session | null> {
    if (!token || token.length > MAX_TOKEN_CHARS) return null;
    if (currentDate === undefined) {
      const hash = tokenHash(token);
      const known = this.#remembered.get(hash);
      if (known) {
        if (this.#lives(known)) {
          this.verifications.remembered++;
          return known;
        }
        this.#remembered.delete(hash);
      }
      const checked = await this.#check(token, new Date(this.#now()));
      if (!checked) return null;
      this.verifications.checked++;
      // Only the current key's: the previous key's sessions must end when it
      // is retired (a leaked key is why it is rotated), and a remembered
      // session would outlive it, handed on from process to process.
      if (checked.current) this.#remembered.set(hash, checked.session);
      return checked.session;
    }
    const checked = await this.#check(token, currentDate);
    if (checked) this.verifications.checked++;
    return checked?.session ?? null;
  }

  /** Whether `session` is unexpired now, with the tolerance a check allows. */
  #lives(session: Session): boolean {
    return session.exp + SESSION_CLOCK_TOLERANCE_S > this.#now() / 1000;
  }

  /**
   * The sessions remembered and unexpired, as chunks signed with the current
   * key, for the processes that start after this one (`HandoverStore`).
   */
  async exportRemembered(): Promise<HandoverChunk[]> {
    const key = await this.#key;
    const chunks: HandoverChunk[] = [];
    // Each session as its JSON, so a chunk is sized and written from one encoding.
    let listed: string[] = [];
    let chars = 0;
    const seal = async () => {
      if (listed.length === 0) return;
      const data = `{"made":${this.#now()},"sessions":[${listed.join(",")}]}`;
      const mac = await crypto.subtle.sign(
        "HMAC",
        key,
        encoder.encode(HANDOVER_CONTEXT + data),
      );
      chunks.push({ data, mac: base64url.encode(new Uint8Array(mac)) });
      listed = [];
      chars = 0;
    };
    // A snapshot: verifications go on while the chunks are signed.
    for (const [hash, s] of [...this.#remembered]) {
      if (!this.#lives(s)) continue;
      const entry: HandedSession = [
        hash,
        s.user.id,
        s.user.name,
        s.user.kind,
        s.user.picture ?? null,
        s.sid,
        s.iat,
        s.exp,
      ];
      const json = JSON.stringify(entry);
      // The chunk's own fields (`made`, the brackets) take the rest.
      if (chars + json.length + 1 > MAX_HANDOVER_CHUNK_CHARS - 64) await seal();
      listed.push(json);
      chars += json.length + 1;
    }
    await seal();
    return chunks;
  }

  /**
   * Remembers the sessions of `chunks` that another process exported with
   * this signer's current key, less than {@link HANDOVER_MAX_AGE_MS} ago,
   * and unexpired; a chunk whose MAC does not hold (another key, changed
   * data) is skipped whole. Returns how many sessions it took.
   */
  async importRemembered(chunks: readonly HandoverChunk[]): Promise<number> {
    const key = await this.#key;
    let taken = 0;
    for (const { data, mac } of chunks) {
      let macBytes: Uint8Array<ArrayBuffer> | null;
      try {
        macBytes = base64url.decode(mac) as Uint8Array<ArrayBuffer>;
      } catch {
        macBytes = null;
      }
      if (
        !macBytes ||
        !await crypto.subtle.verify(
          "HMAC",
          key,
          macBytes,
          encoder.encode(HANDOVER_CONTEXT + data),
        )
      ) continue;
      const { made, sessions } = JSON.parse(data) as {
        made: number;
        sessions: HandedSession[];
      };
      if (!(this.#now() - made < HANDOVER_MAX_AGE_MS)) continue;
      for (
        const [hash, id, name, kind, picture, sid, iat, exp] of sessions
      ) {
        const user: ChatUser = { id, name, kind };
        if (picture !== null) user.picture = picture;
        const session: Session = { user, sid, iat, exp };
        if (!this.#lives(session) || this.#remembered.has(hash)) continue;
        this.#remembered.set(hash, session);
        taken++;
      }
    }
    return taken;
  }

  /**
   * Checks `token` in full (jose): signature, algorithm, issuer, audience,
   * times, claims; with which key it holds.
   */
  async #check(
    token: string,
    currentDate: Date,
  ): Promise<{ session: Session; current: boolean } | null> {
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
        return {
          session: { user, sid: jti, iat: iat!, exp: exp! },
          current: key === this.#key,
        };
      } catch {
        // Try the previous key, if any; otherwise the token is not ours.
      }
    }
    return null;
  }
}

/** Tokens longer than this are rejected without parsing. */
export const MAX_TOKEN_CHARS = 4_096;
