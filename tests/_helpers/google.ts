/**
 * Stands in for Google: a local JWKS server with our own RSA keys, and ID
 * tokens minted with them. Verification still runs through jose and HTTP.
 */
import {
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWTPayload,
  SignJWT,
} from "jose";

export const CLIENT_ID = "1234567890-roomcast-test.apps.googleusercontent.com";

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

export async function newKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", {
    extractable: true,
  });
  return { kid, privateKey, publicKey };
}

export interface JwksServer {
  url: string;
  /** Replaces the published keys (rotation). */
  publish(keys: SigningKey[]): Promise<void>;
  /** Number of JWKS fetches served. */
  fetches(): number;
  close(): Promise<void>;
}

export async function startJwks(keys: SigningKey[]): Promise<JwksServer> {
  let body = "";
  let count = 0;
  const publish = async (list: SigningKey[]) => {
    const jwks = await Promise.all(list.map(async (k) => ({
      ...(await exportJWK(k.publicKey)),
      kid: k.kid,
      alg: "RS256",
      use: "sig",
    })));
    body = JSON.stringify({ keys: jwks });
  };
  await publish(keys);
  const server = Deno.serve({
    port: 0,
    hostname: "127.0.0.1",
    onListen: () => {},
  }, () => {
    count++;
    return new Response(body, {
      headers: { "content-type": "application/json" },
    });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/oauth2/v3/certs`,
    publish,
    fetches: () => count,
    close: () => server.shutdown(),
  };
}

/** Claims of a valid Google ID token for our client id. */
export function claims(overrides: JWTPayload = {}): JWTPayload {
  return {
    iss: "https://accounts.google.com",
    aud: CLIENT_ID,
    sub: "109876543210987654321",
    email: "ana@example.com",
    email_verified: true,
    name: "Ana Lima",
    picture: "https://lh3.googleusercontent.com/a/ana",
    ...overrides,
  };
}

/** Signs `payload` as Google would (RS256 with `key`), with `iat`/`exp` unless given. */
export async function mint(
  key: SigningKey,
  payload: JWTPayload = claims(),
  header: { kid?: string } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return await new SignJWT({ iat: now, exp: now + 3600, ...payload })
    .setProtectedHeader({
      alg: "RS256",
      kid: header.kid ?? key.kid,
      typ: "JWT",
    })
    .sign(key.privateKey);
}

const b64url = (data: string | Uint8Array) =>
  btoa(typeof data === "string" ? data : String.fromCharCode(...data))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

/** An unsigned token (`alg: none`). */
export function unsigned(payload: JWTPayload = claims()): string {
  const now = Math.floor(Date.now() / 1000);
  return `${b64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${
    b64url(JSON.stringify({ iat: now, exp: now + 3600, ...payload }))
  }.`;
}

/** The algorithm-confusion attack: HS256 with the RSA public key (PEM) as the HMAC secret. */
export async function hs256WithPublicKey(
  key: SigningKey,
  payload: JWTPayload = claims(),
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const head = b64url(
    JSON.stringify({ alg: "HS256", kid: key.kid, typ: "JWT" }),
  );
  const body = b64url(
    JSON.stringify({ iat: now, exp: now + 3600, ...payload }),
  );
  const pem = new TextEncoder().encode(await exportSPKI(key.publicKey));
  const hmac = await crypto.subtle.importKey(
    "raw",
    pem,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const sig = new Uint8Array(
    await crypto.subtle.sign(
      "HMAC",
      hmac,
      new TextEncoder().encode(`${head}.${body}`),
    ),
  );
  return `${head}.${body}.${b64url(sig)}`;
}

/** A valid token whose payload was changed after signing. */
export function tamper(token: string, changes: JWTPayload): string {
  const [head, body, sig] = token.split(".");
  const payload = JSON.parse(atob(body.replace(/-/g, "+").replace(/_/g, "/")));
  return `${head}.${b64url(JSON.stringify({ ...payload, ...changes }))}.${sig}`;
}
