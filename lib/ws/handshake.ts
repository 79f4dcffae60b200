/**
 * The server's side of the WebSocket opening handshake (RFC 6455 §4.2):
 * checks a request's upgrade headers and builds the `101 Switching
 * Protocols` answer. Pure (SHA-1 from `node:crypto`, synchronous, so a
 * handshake costs no extra turn of the event loop).
 *
 * @module
 */

import { createHash } from "node:crypto";

/** The GUID every accept key is derived with (RFC 6455 §1.3). */
const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** Where {@link upgradeProblem} reads the fields: a `Headers`, or the listener's parsed head. */
export interface FieldReader {
  /** The value of field `name` (lower case), repeated fields joined with ", "; null if absent. */
  get(name: string): string | null;
}

/** Why an upgrade request is malformed, or null when it is a valid one. */
export function upgradeProblem(
  headers: FieldReader,
  method: string,
): string | null {
  if (method !== "GET") return "a WebSocket upgrade must be a GET";
  if (!hasToken(headers.get("upgrade"), "websocket")) {
    return "missing Upgrade: websocket";
  }
  if (!hasToken(headers.get("connection"), "upgrade")) {
    return "missing Connection: Upgrade";
  }
  if (headers.get("sec-websocket-version")?.trim() !== "13") {
    return "Sec-WebSocket-Version must be 13";
  }
  const key = headers.get("sec-websocket-key")?.trim() ?? "";
  // 16 random bytes in base64: 22 characters and "==".
  if (!/^[A-Za-z0-9+/]{22}==$/.test(key)) return "bad Sec-WebSocket-Key";
  return null;
}

/** True when the comma-separated header `value` lists `token` (case-insensitive). */
export function hasToken(value: string | null, token: string): boolean {
  if (!value) return false;
  return value.toLowerCase().split(",").some((t) => t.trim() === token);
}

/**
 * `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key`.
 *
 * @example
 * ```ts
 * acceptKey("dGhlIHNhbXBsZSBub25jZQ=="); // "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
 * ```
 */
export function acceptKey(key: string): string {
  return createHash("sha1").update(key + WEBSOCKET_GUID).digest("base64");
}

/** Headers of an app's answer that must not appear on a `101` (they describe a body). */
const BODY_HEADERS = new Set([
  "connection",
  "content-length",
  "content-type",
  "transfer-encoding",
  "upgrade",
]);
// Set-Cookie is added from getSetCookie(), one line per cookie.

/**
 * The `101 Switching Protocols` head, carrying `extra` headers of the app's
 * answer (cookies, request id, security headers) except those about a body.
 */
export function switchingProtocolsHead(accept: string, extra: Headers): string {
  let head = "HTTP/1.1 101 Switching Protocols\r\n" +
    "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
    `Sec-WebSocket-Accept: ${accept}\r\n`;
  for (const [name, value] of extra) {
    if (
      !BODY_HEADERS.has(name) && name !== "sec-websocket-accept" &&
      name !== "set-cookie"
    ) {
      head += `${name}: ${value}\r\n`;
    }
  }
  for (const cookie of extra.getSetCookie()) {
    head += `set-cookie: ${cookie}\r\n`;
  }
  return head + "\r\n";
}
