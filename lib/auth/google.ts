/**
 * Verifying Google ID tokens (Sign in with Google) with jose against Google's
 * JWKS: RS256 only, issuer in both forms, audience = our client id(s), a few
 * seconds of clock tolerance, a verified email, and optionally a Workspace
 * domain taken from the signed `hd` claim.
 *
 * @module
 */

import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from "jose";
import type { UserProfile } from "../store/types.ts";
import { profileDisplayName } from "../chat/names.ts";

/** Both issuer spellings Google uses. */
export const GOOGLE_ISSUERS = [
  "accounts.google.com",
  "https://accounts.google.com",
];
/** Clock tolerance for `exp`, `nbf`, `iat`, in seconds. */
export const GOOGLE_CLOCK_TOLERANCE_S = 5;
/** Credentials longer than this are refused unparsed (real ones are ~1.2 KB). */
export const MAX_CREDENTIAL_CHARS = 8_192;

/** Why a credential was refused; safe to show (says nothing about keys or the token). */
export type GoogleFailure =
  | "malformed"
  | "bad_signature"
  | "expired"
  | "not_yet_valid"
  | "wrong_audience"
  | "wrong_issuer"
  | "email_unverified"
  | "domain_not_allowed"
  | "keys_unavailable";

/** A refused credential. */
export class GoogleAuthError extends Error {
  constructor(readonly reason: GoogleFailure) {
    super(`Google sign-in refused: ${reason}`);
    this.name = "GoogleAuthError";
  }
}

/** Options for {@link GoogleVerifier}. */
export interface GoogleVerifierOptions {
  clientIds: string[];
  jwksUrl: string;
  allowedDomains?: string[];
  /** Minimum time between JWKS refetches when an unknown `kid` appears (jose's cooldown). */
  jwksCooldownMs?: number;
}

/** Verifies Google ID tokens; keys are cached and refetched when a new `kid` appears. */
export class GoogleVerifier {
  readonly #jwks: ReturnType<typeof createRemoteJWKSet>;
  readonly #clientIds: string[];
  readonly #domains: string[];

  constructor(options: GoogleVerifierOptions) {
    this.#jwks = createRemoteJWKSet(new URL(options.jwksUrl), {
      cooldownDuration: options.jwksCooldownMs ?? 30_000,
      timeoutDuration: 5_000,
    });
    this.#clientIds = options.clientIds;
    this.#domains = (options.allowedDomains ?? []).map((d) => d.toLowerCase());
  }

  /**
   * Verifies `credential` and returns the profile it vouches for.
   *
   * @throws {GoogleAuthError} with the reason it was refused.
   */
  async verify(credential: unknown): Promise<UserProfile> {
    if (
      typeof credential !== "string" ||
      credential.length > MAX_CREDENTIAL_CHARS ||
      !/^[\w-]+\.[\w-]+\.[\w-]*$/.test(credential)
    ) {
      throw new GoogleAuthError("malformed");
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(credential, this.#jwks, {
        algorithms: ["RS256"],
        issuer: GOOGLE_ISSUERS,
        audience: this.#clientIds,
        clockTolerance: GOOGLE_CLOCK_TOLERANCE_S,
        requiredClaims: ["sub", "exp", "iat"],
      }));
    } catch (err) {
      throw new GoogleAuthError(failureOf(err));
    }
    if (payload.email_verified !== true) {
      throw new GoogleAuthError("email_unverified");
    }
    const hd = typeof payload.hd === "string"
      ? payload.hd.toLowerCase()
      : undefined;
    if (this.#domains.length > 0 && (!hd || !this.#domains.includes(hd))) {
      throw new GoogleAuthError("domain_not_allowed");
    }
    const { sub, email, name, picture } = payload;
    if (typeof sub !== "string" || typeof email !== "string") {
      throw new GoogleAuthError("malformed");
    }
    const profile: UserProfile = {
      sub,
      email,
      // Google's names get a guest's normalization: no controls, bidi
      // overrides or zero-width characters, at most MAX_NAME_CHARS.
      name: profileDisplayName(name) ??
        profileDisplayName(email.split("@")[0]) ?? "Google user",
    };
    // A picture URL rides in the session cookie: a long one would push the
    // cookie past 4 KB and the browser would drop it (a silent sign-out).
    if (
      typeof picture === "string" && picture.startsWith("https://") &&
      picture.length <= MAX_PICTURE_URL_CHARS
    ) {
      profile.picture = picture;
    }
    if (hd) profile.hd = hd;
    return profile;
  }
}

/** Longest profile picture URL kept (Google's are about 100 characters). */
export const MAX_PICTURE_URL_CHARS = 1_024;

/**
 * The user id shown to everyone for a Google account: derived from Google's
 * `sub` but not revealing it (`sub` is Google's stable account number).
 *
 * @example
 * ```ts
 * await googleUserId("109876543210987654321"); // "google:Xb3…" (22 characters after the colon)
 * ```
 */
export async function googleUserId(sub: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(`roomcast:google-sub:${sub}`),
  );
  const bytes = new Uint8Array(digest).slice(0, 16);
  const b64 = btoa(String.fromCharCode(...bytes));
  return `google:${
    b64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")
  }`;
}

function failureOf(err: unknown): GoogleFailure {
  if (err instanceof errors.JWTExpired) return "expired";
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === "aud") return "wrong_audience";
    if (err.claim === "iss") return "wrong_issuer";
    if (err.claim === "nbf" || err.claim === "iat") return "not_yet_valid";
    return "malformed";
  }
  if (
    err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid ||
    (err instanceof TypeError && !(err instanceof errors.JOSEError))
  ) {
    return "keys_unavailable";
  }
  if (
    err instanceof errors.JWSSignatureVerificationFailed ||
    err instanceof errors.JWKSNoMatchingKey ||
    err instanceof errors.JOSEAlgNotAllowed ||
    err instanceof errors.JWKSMultipleMatchingKeys
  ) {
    return "bad_signature";
  }
  return "malformed";
}
