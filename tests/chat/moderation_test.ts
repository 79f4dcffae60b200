/**
 * The pure rules of rooms people run: who may post (ban, guests, signed-in,
 * members, mute), who outranks whom, what a client is told.
 */
import assert from "node:assert/strict";
import {
  DEFAULT_ROOM_SETTINGS,
  outranks,
  roomInfoOf,
  roomRefusal,
  standingView,
} from "../../lib/chat/moderation.ts";
import { moderates } from "../../lib/chat/protocol.ts";
import type { ChatUser, Sanction, Standing } from "../../lib/chat/types.ts";

const GUEST: ChatUser = { id: "guest:1", name: "Gus", kind: "guest" };
const GOOGLE: ChatUser = { id: "google:1", name: "Ivy", kind: "google" };
const NONE: Standing = { role: null, mute: null, ban: null };
const OWEN = { id: "google:owen", name: "Owen" };

function sanction(kind: "mute" | "ban", until: number | null): Sanction {
  return { kind, user: GUEST, until, by: OWEN, ts: 1, reason: "spam" };
}

Deno.test("roomRefusal: everyone may post by default", () => {
  assert.equal(roomRefusal(GUEST, DEFAULT_ROOM_SETTINGS, NONE), null);
  assert.equal(roomRefusal(GOOGLE, DEFAULT_ROOM_SETTINGS, NONE), null);
});

Deno.test("roomRefusal: guests not allowed, signed-in only, members only", () => {
  const noGuests = { ...DEFAULT_ROOM_SETTINGS, guestsAllowed: false };
  assert.equal(roomRefusal(GUEST, noGuests, NONE)?.code, "sign_in_required");
  assert.equal(roomRefusal(GOOGLE, noGuests, NONE), null);
  const signedIn = {
    ...DEFAULT_ROOM_SETTINGS,
    postPolicy: "signed_in" as const,
  };
  assert.equal(roomRefusal(GUEST, signedIn, NONE)?.code, "sign_in_required");
  assert.equal(roomRefusal(GOOGLE, signedIn, NONE), null);
  const members = { ...DEFAULT_ROOM_SETTINGS, postPolicy: "members" as const };
  assert.equal(roomRefusal(GOOGLE, members, NONE)?.code, "members_only");
  for (const role of ["member", "moderator", "owner"] as const) {
    assert.equal(roomRefusal(GOOGLE, members, { ...NONE, role }), null);
  }
  // A guest who is a member still may not post where only the signed-in may.
  assert.equal(
    roomRefusal(GUEST, members, { ...NONE, role: "member" })?.code,
    "sign_in_required",
  );
});

Deno.test("roomRefusal: a mute says why and until when; a ban comes first", () => {
  const until = Date.UTC(2030, 0, 1, 12, 30);
  const muted = roomRefusal(GUEST, DEFAULT_ROOM_SETTINGS, {
    ...NONE,
    mute: sanction("mute", until),
  });
  assert.equal(muted?.code, "muted");
  assert.equal(muted?.until, until);
  assert.match(muted!.message, /spam/);
  assert.match(muted!.message, /2030-01-01T12:30/);
  const forGood = roomRefusal(GUEST, DEFAULT_ROOM_SETTINGS, {
    ...NONE,
    mute: sanction("mute", null),
  });
  assert.equal(forGood?.until, null);
  assert.equal(
    roomRefusal(GUEST, DEFAULT_ROOM_SETTINGS, {
      ...NONE,
      mute: sanction("mute", until),
      ban: sanction("ban", null),
    })?.code,
    "banned",
  );
});

Deno.test("roles: who moderates, who outranks whom", () => {
  assert.deepEqual(
    (["owner", "moderator", "member", null] as const).map(moderates),
    [true, true, false, false],
  );
  assert.equal(outranks("owner", "moderator"), true);
  assert.equal(outranks("moderator", "member"), true);
  assert.equal(outranks("moderator", null), true);
  assert.equal(outranks("moderator", "moderator"), false);
  assert.equal(outranks("moderator", "owner"), false);
  assert.equal(outranks(null, null), false);
});

Deno.test("standingView tells the client its role and mute, not who muted it", () => {
  assert.deepEqual(standingView(NONE), { role: null, mute: null });
  assert.deepEqual(
    standingView({ role: "member", mute: sanction("mute", 5), ban: null }),
    { role: "member", mute: { until: 5, reason: "spam" } },
  );
});

Deno.test("roomInfoOf: a room without a record is ownerless with the defaults", () => {
  const info = roomInfoOf("r", null);
  assert.equal(info.owner, null);
  assert.deepEqual(info.settings, DEFAULT_ROOM_SETTINGS);
  info.settings.topic = "changed";
  assert.equal(DEFAULT_ROOM_SETTINGS.topic, "", "the defaults are not shared");
});
