/**
 * The room panel's calls to the rooms API (`/api/rooms/:room/…`): JSON in
 * and out, with the CSRF header; a refusal comes back as its message.
 * Browser-safe.
 *
 * @module
 */

import { CSRF_HEADER } from "../lib/shared.ts";

/** An API answer: the body, or the server's words for the refusal. */
export type AdminResult<T> = { ok: true; value: T } | {
  ok: false;
  message: string;
};

/**
 * Calls `method /api/rooms/<room>/<path>` with `body` as JSON.
 *
 * @example
 * ```ts
 * const r = await roomApi(room, "PUT", "settings", { slowModeSeconds: 10 });
 * if (!r.ok) error.value = r.message;
 * ```
 */
export async function roomApi<T = Record<string, unknown>>(
  room: string,
  method: "GET" | "POST" | "PUT" | "DELETE",
  path: string,
  body?: unknown,
): Promise<AdminResult<T>> {
  try {
    const res = await fetch(`/api/rooms/${encodeURIComponent(room)}/${path}`, {
      method,
      headers: body === undefined
        ? { [CSRF_HEADER]: "1" }
        : { "content-type": "application/json", [CSRF_HEADER]: "1" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json().catch(() => ({}));
    return res.ok
      ? { ok: true, value: json as T }
      : { ok: false, message: json.message ?? `Failed (${res.status}).` };
  } catch {
    return { ok: false, message: "The server could not be reached." };
  }
}

/** A time as the viewer reads it: "20:45", or with the date when not today. */
export function untilLabel(until: number | null, now = Date.now()): string {
  if (until === null) return "until a moderator lifts it";
  const d = new Date(until);
  const sameDay = new Date(now).toDateString() === d.toDateString();
  return `until ${
    sameDay
      ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
      : d.toLocaleString([], {
        dateStyle: "medium",
        timeStyle: "short",
      })
  }`;
}
