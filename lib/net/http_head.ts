/**
 * Finds and parses the head of the first HTTP/1.x request on a connection
 * (request line and header fields), pure: the guarded listener reads it to
 * tell a WebSocket upgrade from ordinary HTTP, within a size limit.
 *
 * @module
 */

/** A parsed request head. */
export interface RequestHead {
  method: string;
  /** The request target as sent (origin form: path and query). */
  target: string;
  /**
   * The header fields as name/value pairs, in order, values trimmed. Names
   * are tokens; values are checked by whoever adds them to a `Request` (it
   * throws on a byte a header may not hold). Pairs, not a `Headers`: the
   * listener appends them to its `Request`'s own headers, the cheapest way
   * it measured (a `Headers` init cost four times a pairs init, and a
   * `Headers` built here as well validated every field twice per upgrade).
   */
  fields: [string, string][];
  /** Bytes of the head, the blank line included. */
  length: number;
}

/** What the bytes so far hold. */
export type HeadScan =
  | { kind: "incomplete" }
  | { kind: "complete"; head: RequestHead }
  /** Longer than the limit without ending. */
  | { kind: "too_large" }
  /** Not an HTTP/1.x request head. */
  | { kind: "malformed" };

const END = [13, 10, 13, 10];
/**
 * Bytes as the code points of the same numbers (ISO-8859-1), as a header's
 * ByteString is. `TextDecoder("latin1")` is windows-1252, which turned bytes
 * 0x80–0x9F (UTF-8 in a cookie, say) into other characters that a `Request`
 * then refused, so such an upgrade got a 400; it is still used when no such
 * byte is there (0.8 µs for a 600-byte head, against 3–4 µs converting by
 * code point; spreading the bytes into `fromCharCode` took 22).
 */
function latin1(bytes: Uint8Array): string {
  let plain = true;
  for (let i = 0; i < bytes.length && plain; i++) {
    plain = bytes[i] < 0x80 || bytes[i] >= 0xa0;
  }
  if (plain) return windows1252.decode(bytes);
  let out = "";
  for (let at = 0; at < bytes.length; at += LATIN1_CHUNK) {
    const chunk = bytes.subarray(at, at + LATIN1_CHUNK);
    out += String.fromCharCode.apply(null, chunk as unknown as number[]);
  }
  return out;
}
/** What the Encoding standard calls "latin1": the same as ISO-8859-1 but for 0x80–0x9F. */
const windows1252 = new TextDecoder("latin1");
/** Bytes per `String.fromCharCode` call: well under engines' argument limits. */
const LATIN1_CHUNK = 8_192;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Index just past the blank line ending the head in `bytes`, or -1. */
export function headEnd(bytes: Uint8Array, from = 0): number {
  for (let i = Math.max(0, from - 3); i + 3 < bytes.length; i++) {
    if (
      bytes[i] === END[0] && bytes[i + 1] === END[1] &&
      bytes[i + 2] === END[2] && bytes[i + 3] === END[3]
    ) return i + 4;
  }
  return -1;
}

/**
 * Looks for a whole request head at the start of `bytes`, at most `maxBytes`
 * long. `searched`: how many bytes an earlier call already found no end in
 * (the last read's total), so a head that arrives a byte at a time costs
 * linear time, not quadratic (32 KiB trickled cost 45–100 ms of the main
 * thread when every read searched from byte 0).
 *
 * @example
 * ```ts
 * const scan = scanRequestHead(buffered, 16_384, lengthBeforeThisRead);
 * if (scan.kind === "complete") headerField(scan.head, "upgrade");
 * ```
 */
export function scanRequestHead(
  bytes: Uint8Array,
  maxBytes: number,
  searched = 0,
): HeadScan {
  const end = headEnd(
    bytes.length > maxBytes ? bytes.subarray(0, maxBytes) : bytes,
    searched,
  );
  if (end < 0) {
    return bytes.length >= maxBytes
      ? { kind: "too_large" }
      : { kind: "incomplete" };
  }
  const lines = latin1(bytes.subarray(0, end - 4)).split("\r\n");
  const [method, target, version, ...extra] = lines[0].split(" ");
  if (
    extra.length > 0 || !method || !TOKEN.test(method) || !target ||
    !/^HTTP\/1\.[01]$/.test(version ?? "")
  ) return { kind: "malformed" };
  const fields: [string, string][] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(":");
    if (colon <= 0) return { kind: "malformed" };
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) return { kind: "malformed" };
    fields.push([name, line.slice(colon + 1).trim()]);
  }
  return {
    kind: "complete",
    head: { method, target, fields, length: end },
  };
}

/**
 * The value of header `name` (lower case) in `head` as `Headers.get` gives
 * it — repeated fields joined with ", " — or null if absent. For the few
 * fields the listener reads before the app does.
 *
 * @example
 * ```ts
 * headerField(head, "upgrade"); // "websocket"
 * ```
 */
export function headerField(head: RequestHead, name: string): string | null {
  let found: string | null = null;
  for (const [field, value] of head.fields) {
    if (field.length === name.length && field.toLowerCase() === name) {
      found = found === null ? value : `${found}, ${value}`;
    }
  }
  return found;
}

/**
 * A host as a request's `Host` may name it: a registered name or IPv4
 * address (RFC 3986's unreserved characters) or a bracketed IP literal, with
 * an optional port. Nothing that would end the authority early (`/`, `?`,
 * `#`, `@`, `\`) or that a URL parser strips (tabs).
 */
const HOST = /^(?:[A-Za-z0-9\-._~]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

/**
 * The URL of an upgrade request: `http://` its `Host` (`localhost` when
 * absent) and its target as sent, or null when the host is not a plain
 * {@link HOST} or the target is not a path (origin form). The target stays
 * the path even when it begins `//`: resolving it against the host as a
 * relative reference would take `//evil.example/ws/…` for another host, and
 * the WebSocket route's Origin check compares with the request's origin.
 * One string, parsed once by the `Request` made of it.
 *
 * @example
 * ```ts
 * upgradeUrl(head); // "http://localhost:8000/ws/chat/lobby?after=12"
 * ```
 */
export function upgradeUrl(head: RequestHead): string | null {
  const host = headerField(head, "host") || "localhost";
  if (!HOST.test(host) || !head.target.startsWith("/")) return null;
  return `http://${host}${head.target}`;
}
