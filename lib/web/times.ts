/**
 * Times and days as a room shows them: the reader's time zone in the browser,
 * UTC in the server's rendering (which the island replaces once hydrated, so
 * the first paint matches the server's HTML). Pure and browser-safe: the zone
 * is a parameter (`undefined` is the runtime's own).
 *
 * @module
 */

/** The zone the server renders in, and says so. */
export const SERVER_ZONE = "UTC";

/** Where a time is shown: the reader's zone once in the browser, else the server's. */
export type Zone = string | undefined;

/**
 * The locale to format in: the one asked for; in the server's zone a fixed
 * one, so the server's HTML and the island's first (hydrating) render agree
 * whatever the server's own locale; else the reader's.
 */
function localeFor(zone: Zone, locale?: string): string | string[] {
  return locale ?? (zone === SERVER_ZONE ? "en-US" : []);
}

/** The zone for a rendering: the browser's own once hydrated (`local`), else UTC. */
export function zoneFor(local: boolean): Zone {
  return local ? undefined : SERVER_ZONE;
}

/**
 * A short time of day, e.g. "14:05" or "2:05 PM" (the locale's way); " UTC"
 * is added when the zone is the server's.
 */
export function formatTime(ts: number, zone: Zone, locale?: string): string {
  const time = new Date(ts).toLocaleTimeString(localeFor(zone, locale), {
    hour: "2-digit",
    minute: "2-digit",
    timeZone: zone,
  });
  return zone === SERVER_ZONE ? `${time} UTC` : time;
}

/** The full date and time, for a tooltip. */
export function formatFull(ts: number, zone: Zone, locale?: string): string {
  return new Date(ts).toLocaleString(localeFor(zone, locale), {
    dateStyle: "full",
    timeStyle: "short",
    timeZone: zone,
  });
}

/** The calendar day of `ts` in `zone`, as "YYYY-MM-DD". */
export function dayKey(ts: number, zone: Zone): string {
  const parts = new Intl.DateTimeFormat("en-US", {
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    timeZone: zone,
  }).formatToParts(new Date(ts));
  const get = (type: string) => parts.find((p) => p.type === type)!.value;
  return `${get("year")}-${get("month")}-${get("day")}`;
}

/** The day before a "YYYY-MM-DD" day (calendar arithmetic: no DST surprises). */
function previousDay(key: string): string {
  const [y, m, d] = key.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d - 1)).toISOString().slice(0, 10);
}

/**
 * A day separator's label for `ts`, read at `now`: "Today", "Yesterday", the
 * weekday and date, and the year when it is not this year's.
 *
 * @example
 * ```ts
 * dayLabel(Date.now(), Date.now(), undefined); // "Today"
 * dayLabel(Date.UTC(2025, 0, 3), Date.UTC(2026, 5, 1), "UTC", "en-US");
 * // "Friday, January 3, 2025"
 * ```
 */
export function dayLabel(
  ts: number,
  now: number,
  zone: Zone,
  locale?: string,
): string {
  const day = dayKey(ts, zone);
  const today = dayKey(now, zone);
  if (day === today) return "Today";
  if (day === previousDay(today)) return "Yesterday";
  return new Date(ts).toLocaleDateString(localeFor(zone, locale), {
    weekday: "long",
    month: "long",
    day: "numeric",
    year: day.slice(0, 4) === today.slice(0, 4) ? undefined : "numeric",
    timeZone: zone,
  });
}
