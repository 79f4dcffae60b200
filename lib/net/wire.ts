/**
 * Bytes on a `Deno.Conn` for the guarded listener: writing all of a buffer,
 * relaying one connection to another, and the few HTTP/1.1 answers the
 * listener writes itself (refusals, and the app's answer to an upgrade it
 * did not accept).
 *
 * @module
 */

/** Bytes read at a time on a relayed connection. */
const RELAY_CHUNK_BYTES = 16 * 1024;

const encoder = new TextEncoder();

/** Copies `from` to `to` until the end of `from`, then half-closes `to`; `onData` on every chunk. */
export async function pipe(
  from: Deno.Conn,
  to: Deno.Conn,
  initial: Uint8Array | null,
  onData: () => void,
): Promise<void> {
  if (initial && initial.length > 0) {
    onData();
    await writeAll(to, initial);
  }
  const buffer = new Uint8Array(RELAY_CHUNK_BYTES);
  while (true) {
    const n = await from.read(buffer);
    if (n === null) break;
    onData();
    await writeAll(to, buffer.subarray(0, n));
  }
  await to.closeWrite();
}

/** Writes all of `bytes` (a write may take only part). */
export async function writeAll(
  conn: Deno.Conn,
  bytes: Uint8Array,
): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    written += await conn.write(bytes.subarray(written));
  }
}

/** Closes `conn`, ignoring that it may be closed already. */
export function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}

/** A short `Connection: close` answer with `status` and its text as the body. */
export function plainResponse(status: number, text: string): Uint8Array {
  return encoder.encode(
    `HTTP/1.1 ${status} ${text}\r\ncontent-type: text/plain\r\n` +
      `content-length: ${text.length}\r\nconnection: close\r\n\r\n${text}`,
  );
}

/** Headers that describe the framing, which {@link serializeResponse} writes itself. */
const FRAMING_HEADERS = new Set([
  "connection",
  "content-length",
  "keep-alive",
  "transfer-encoding",
]);

/** Reason phrases of the statuses a refused upgrade gets. */
const STATUS_TEXT: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  426: "Upgrade Required",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** The app's answer to a refused upgrade, as HTTP/1.1 bytes with `Connection: close`. */
export async function serializeResponse(
  response: Response,
): Promise<Uint8Array> {
  const body = new Uint8Array(await response.arrayBuffer());
  const reason = response.statusText || STATUS_TEXT[response.status] ||
    "Status";
  let head = `HTTP/1.1 ${response.status} ${reason}\r\n`;
  for (const [name, value] of response.headers) {
    if (!FRAMING_HEADERS.has(name) && name !== "set-cookie") {
      head += `${name}: ${value}\r\n`;
    }
  }
  for (const cookie of response.headers.getSetCookie()) {
    head += `set-cookie: ${cookie}\r\n`;
  }
  head += `content-length: ${body.length}\r\nconnection: close\r\n\r\n`;
  const headBytes = encoder.encode(head);
  const out = new Uint8Array(headBytes.length + body.length);
  out.set(headBytes);
  out.set(body, headBytes.length);
  return out;
}
