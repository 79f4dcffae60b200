/**
 * The one line `deno task start` prints for a person: where the app is and
 * the settings that decide how it behaves. Pure; `lib/instance.ts` prints it.
 *
 * @module
 */

import type { AppConfig } from "./config.ts";

/** The parts of the configuration the line shows. */
export type StartupSettings = Pick<
  AppConfig,
  | "channelLayer"
  | "redisUrl"
  | "store"
  | "kvPath"
  | "allowGuests"
  | "googleClientIds"
  | "workers"
>;

/** A URL without its user name and password (a Redis URL may carry one). */
function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    return u.href.replace(/\/$/, "");
  } catch {
    return "(unreadable URL)";
  }
}

/**
 * The start-up line: the URL first (scripts read `Listening on
 * http://HOST:PORT/`, see `support/process.ts`), then the listener when the
 * caller names one, the group layer, the store, the sign-in methods and, when
 * more than one, the workers. Never a secret: credentials in URLs are dropped.
 *
 * @example
 * ```ts
 * startupLine("http://localhost:8000/", config);
 * // "Listening on http://localhost:8000/ · layer memory · store kv at ./data/roomcast.kv · sign-in: guests"
 * ```
 */
export function startupLine(
  url: string,
  settings: StartupSettings,
  extra: { listener?: string } = {},
): string {
  const layer = settings.channelLayer === "redis"
    ? `layer redis at ${withoutCredentials(settings.redisUrl)}`
    : `layer ${settings.channelLayer}`;
  const store = settings.kvPath === undefined
    ? `store ${settings.store} (the platform's)`
    : `store ${settings.store} at ${
      /^https?:/.test(settings.kvPath)
        ? withoutCredentials(settings.kvPath)
        : settings.kvPath
    }`;
  const methods = [
    settings.allowGuests && "guests",
    settings.googleClientIds.length > 0 && "Google",
  ].filter(Boolean);
  const signIn = `sign-in: ${
    methods.length > 0 ? methods.join(", ") : "none (read only)"
  }`;
  const parts = [`Listening on ${url}`];
  if (extra.listener) parts.push(`listener ${extra.listener}`);
  parts.push(layer, store, signIn);
  if (settings.workers > 1) parts.push(`${settings.workers} workers`);
  return parts.join(" · ");
}
