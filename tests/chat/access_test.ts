import assert from "node:assert/strict";
import {
  canSeeRoom,
  DIRECT_ROOM_SETTINGS,
  directRefusal,
  directRoomName,
  listedInLobby,
  mayInvite,
  mayJoin,
} from "../../lib/chat/access.ts";
import type {
  ChatUser,
  RoomInfo,
  RoomVisibility,
} from "../../lib/chat/types.ts";
import { isDirectRoom, normalizeRoomName } from "../../lib/chat/names.ts";

const ANA: ChatUser = { id: "google:ana", name: "Ana", kind: "google" };
const BEN: ChatUser = { id: "google:ben", name: "Ben", kind: "google" };
const GUS: ChatUser = { id: "guest:gus", name: "Gus", kind: "guest" };

function info(visibility: RoomVisibility, owner = true): RoomInfo {
  return {
    room: "team",
    owner: owner ? { id: ANA.id, name: ANA.name } : null,
    settings: {
      ...DIRECT_ROOM_SETTINGS,
      visibility,
      postPolicy: "everyone",
      guestsAllowed: true,
    },
    created: 1,
    updated: 1,
  };
}

Deno.test("canSeeRoom: rooms without a record, public and unlisted are open to all", () => {
  for (const user of [null, ANA, GUS]) {
    assert.equal(canSeeRoom("general", null, null, user), true);
    assert.equal(canSeeRoom("team", info("public"), null, user), true);
    assert.equal(canSeeRoom("team", info("unlisted"), null, user), true);
  }
});

Deno.test("canSeeRoom: a private room only to its owner, moderators and members", () => {
  const room = info("private");
  assert.equal(canSeeRoom("team", room, null, null), false);
  assert.equal(canSeeRoom("team", room, null, BEN), false);
  assert.equal(canSeeRoom("team", room, null, GUS), false);
  assert.equal(canSeeRoom("team", room, "owner", ANA), true);
  assert.equal(canSeeRoom("team", room, "moderator", BEN), true);
  assert.equal(canSeeRoom("team", room, "member", GUS), true);
  // A role without a session (signed out) is no one.
  assert.equal(canSeeRoom("team", room, "member", null), false);
});

Deno.test("canSeeRoom: a dm- room only to its members, and only as the DM path made it", () => {
  const dm = { ...info("private", false), room: "dm-x" };
  assert.equal(canSeeRoom("dm-x", dm, "member", ANA), true);
  assert.equal(canSeeRoom("dm-x", dm, null, BEN), false);
  assert.equal(canSeeRoom("dm-x", dm, "member", null), false);
  // No record: nobody (a visit must not make a public dm- room).
  assert.equal(canSeeRoom("dm-x", null, null, ANA), false);
  // Made some other way (an owner, or public): nobody, not even its owner.
  assert.equal(canSeeRoom("dm-x", info("private"), "owner", ANA), false);
  assert.equal(canSeeRoom("dm-x", info("public", false), null, ANA), false);
  assert.equal(
    canSeeRoom("dm-x", info("public", false), "moderator", ANA),
    false,
  );
});

Deno.test("listedInLobby: public rooms only, never a DM", () => {
  assert.equal(listedInLobby("general", null), true);
  assert.equal(listedInLobby("team", info("public")), true);
  assert.equal(listedInLobby("team", info("unlisted")), false);
  assert.equal(listedInLobby("team", info("private")), false);
  assert.equal(listedInLobby("dm-x", null), false);
});

Deno.test("mayInvite: owners and moderators; mayJoin: guests where allowed", () => {
  assert.equal(mayInvite("owner"), true);
  assert.equal(mayInvite("moderator"), true);
  assert.equal(mayInvite("member"), false);
  assert.equal(mayInvite(null), false);
  const noGuests = info("private");
  noGuests.settings.guestsAllowed = false;
  assert.equal(mayJoin(noGuests, GUS), false);
  assert.equal(mayJoin(noGuests, BEN), true);
  assert.equal(mayJoin(info("private"), GUS), true);
});

Deno.test("directRefusal: guests cannot start or receive one, nor can you with yourself", () => {
  assert.equal(directRefusal(ANA, BEN), null);
  assert.equal(directRefusal(GUS, BEN), "guest");
  assert.equal(directRefusal(ANA, GUS), "guest");
  assert.equal(directRefusal(ANA, ANA), "self");
});

Deno.test("directRoomName: one valid room name per pair, whatever the order", async () => {
  const ab = await directRoomName(ANA.id, BEN.id);
  assert.equal(ab, await directRoomName(BEN.id, ANA.id));
  assert.notEqual(ab, await directRoomName(ANA.id, GUS.id));
  assert.equal(normalizeRoomName(ab), ab);
  assert.equal(isDirectRoom(ab), true);
  assert.match(ab, /^dm-[0-9a-f]{32}$/);
});
