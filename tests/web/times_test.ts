import assert from "node:assert/strict";
import {
  dayKey,
  dayLabel,
  formatFull,
  formatTime,
  SERVER_ZONE,
  zoneFor,
} from "../../lib/web/times.ts";

const NOON = Date.UTC(2026, 10, 29, 12, 0); // Sunday, 29 November 2026, 12:00 UTC

Deno.test("times in the server's zone say UTC; in a reader's zone, not", () => {
  assert.equal(formatTime(NOON, SERVER_ZONE, "en-GB"), "12:00 UTC");
  assert.equal(formatTime(NOON, "Asia/Tokyo", "en-GB"), "21:00");
  assert.equal(formatTime(NOON, "America/Sao_Paulo", "en-US"), "09:00 AM");
  // The server's rendering does not depend on the server's locale.
  assert.equal(formatTime(NOON, SERVER_ZONE), "12:00 PM UTC");
  assert.equal(zoneFor(false), SERVER_ZONE);
  assert.equal(zoneFor(true), undefined);
  assert.match(formatFull(NOON, "UTC", "en-US"), /Sunday, November 29, 2026/);
});

Deno.test("the day depends on the zone", () => {
  const lateUtc = Date.UTC(2026, 10, 29, 23, 30);
  assert.equal(dayKey(lateUtc, "UTC"), "2026-11-29");
  assert.equal(dayKey(lateUtc, "Asia/Tokyo"), "2026-11-30");
  assert.equal(dayKey(lateUtc, "America/Sao_Paulo"), "2026-11-29");
  assert.equal(
    dayKey(Date.UTC(2026, 10, 29, 1), "America/Sao_Paulo"),
    "2026-11-28",
  );
});

Deno.test("day labels: Today, Yesterday, a date, the year when not this year's", () => {
  const zone = "UTC";
  assert.equal(dayLabel(NOON - 3600_000, NOON, zone, "en-US"), "Today");
  assert.equal(
    dayLabel(NOON - 24 * 3600_000, NOON, zone, "en-US"),
    "Yesterday",
  );
  assert.equal(
    dayLabel(NOON - 3 * 24 * 3600_000, NOON, zone, "en-US"),
    "Thursday, November 26",
  );
  assert.equal(
    dayLabel(Date.UTC(2025, 0, 3, 10), NOON, zone, "en-US"),
    "Friday, January 3, 2025",
  );
  // 23:30 UTC on the 28th is "Today" in Tokyo at noon UTC on the 29th (21:00 there).
  assert.equal(
    dayLabel(Date.UTC(2026, 10, 28, 23, 30), NOON, "Asia/Tokyo", "en-US"),
    "Today",
  );
  assert.equal(
    dayLabel(Date.UTC(2026, 10, 28, 23, 30), NOON, "UTC", "en-US"),
    "Yesterday",
  );
  // Across a month and a year boundary.
  const newYear = Date.UTC(2027, 0, 1, 9);
  assert.equal(
    dayLabel(Date.UTC(2026, 11, 31, 20), newYear, zone, "en-US"),
    "Yesterday",
  );
});

Deno.test("Yesterday holds across a daylight-saving change", () => {
  // Clocks went back in New York on 1 November 2026 (a 25-hour day).
  const zone = "America/New_York";
  const now = Date.UTC(2026, 10, 2, 4, 30); // 23:30 on 1 November there
  assert.equal(dayKey(now, zone), "2026-11-01");
  assert.equal(
    dayLabel(Date.UTC(2026, 10, 1, 4, 30), now, zone, "en-US"),
    "Today",
  );
  assert.equal(
    dayLabel(Date.UTC(2026, 9, 31, 16), now, zone, "en-US"),
    "Yesterday",
  );
});
