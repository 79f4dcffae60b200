/**
 * Reading small request bodies: JSON or form-encoded, size-limited, as a flat
 * record of strings. Anything else is a clear 4xx.
 *
 * @module
 */

import type { Context } from "hono";
import { ROUTE_ERRORS } from "./errors.ts";

/** Largest request body accepted by the JSON and form API, in bytes. */
export const MAX_BODY_BYTES = 32 * 1024;

/** A parsed body, or the error to answer with. */
export type BodyResult =
  | { ok: true; value: Record<string, unknown>; form: boolean }
  | {
    ok: false;
    status: 400 | 413 | 415;
    error: BodyErrorCode;
    message: string;
  };

/** Why a body was refused: a code of `ROUTE_ERRORS`. */
export type BodyErrorCode = "too_large" | "bad_json" | "unsupported_type";

function refused(error: BodyErrorCode): BodyResult {
  const { status, message } = ROUTE_ERRORS[error];
  return { ok: false, status, error, message };
}

/**
 * Reads a JSON object or a urlencoded form (multipart is refused with 415). `form` tells the caller
 * to answer with a redirect instead of JSON. An empty body is an empty object.
 */
export async function readBody(c: Context): Promise<BodyResult> {
  const length = Number(c.req.header("content-length") ?? 0);
  if (length > MAX_BODY_BYTES) {
    return refused("too_large");
  }
  const type = (c.req.header("content-type") ?? "").split(";")[0].trim()
    .toLowerCase();
  const raw = await readText(c.req.raw.body, MAX_BODY_BYTES);
  if (raw === null) {
    return refused("too_large");
  }
  if (raw.trim() === "") {
    return { ok: true, value: {}, form: type !== "application/json" };
  }
  if (type === "application/json") {
    try {
      const value = JSON.parse(raw);
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw new Error();
      }
      // A null-prototype copy: `__proto__` keys become plain data.
      return {
        ok: true,
        value: Object.assign(Object.create(null), value),
        form: false,
      };
    } catch {
      return refused("bad_json");
    }
  }
  if (type === "application/x-www-form-urlencoded" || type === "") {
    const value: Record<string, unknown> = Object.create(null);
    for (const [k, v] of new URLSearchParams(raw)) value[k] = v;
    return { ok: true, value, form: true };
  }
  return refused("unsupported_type");
}

/**
 * Reads a body as UTF-8 text, or `null` once it exceeds `limit` bytes: a
 * chunked upload is cut off there instead of being buffered whole.
 */
async function readText(
  body: ReadableStream<Uint8Array> | null,
  limit: number,
): Promise<string | null> {
  if (!body) return "";
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

/** `value` if it is a local path (`/x`, not `//host`), else `/`. Prevents open redirects. */
export function localPath(value: unknown): string {
  if (
    typeof value !== "string" || !value.startsWith("/") ||
    value.startsWith("//")
  ) return "/";
  // deno-lint-ignore no-control-regex
  if (value.includes("\\") || /[\u0000-\u001f]/.test(value)) return "/";
  return value;
}
