import assert from "node:assert/strict";
import {
  addRow,
  emptyRules,
  inForce,
  personIn,
  standingOf,
} from "../../lib/store/room_rules.ts";
import type { Reactor, RoomInfo, Sanction } from "../../lib/chat/types.ts";
import { GUS, MIA, OWEN, SETTINGS } from "./_fixtures/room_people.ts";

const INFO: RoomInfo = {
  room: "r",
  owner: OWEN,
  settings: SETTINGS,
  created: 1,
  updated: 1,
};

function sanction(
  kind: Sanction["kind"],
  user: Reactor,
  until: number | null,
  address?: string,
): Sanction {
  return { kind, user, until, by: OWEN, ts: 1, ...address ? { address } : {} };
}

Deno.test("addRow: memberships, mutes, user and address bans go to their maps; other keys are left out", () => {
  const view = emptyRules();
  const mute = sanction("mute", GUS, 100);
  const ban = sanction("ban", GUS, null, "10.0.0.9");
  addRow(view, ["room_member", "r", MIA.id], {
    user: MIA,
    role: "moderator",
    since: 1,
  });
  addRow(view, ["room_mute", "r", GUS.id], mute);
  addRow(view, ["room_ban", "r", "user", GUS.id], ban);
  addRow(view, ["room_ban", "r", "addr", "10.0.0.9"], ban);
  addRow(view, ["room_slow", "r", GUS.id], { until: 5 });
  addRow(view, ["room_ban", "r", "other", GUS.id], ban);
  assert.deepEqual([...view.roles], [[MIA.id, "moderator"]]);
  assert.deepEqual([...view.mutes], [[GUS.id, mute]]);
  assert.deepEqual([...view.bans], [[GUS.id, ban]]);
  assert.deepEqual([...view.addressBans], [["10.0.0.9", ban]]);
});

Deno.test("personIn: a person's rows, the address's ban only when an address is given", () => {
  const view = emptyRules();
  const ban = sanction("ban", GUS, null, "10.0.0.9");
  addRow(view, ["room_ban", "r", "addr", "10.0.0.9"], ban);
  addRow(view, ["room_member", "r", GUS.id], {
    user: GUS,
    role: "member",
    since: 1,
  });
  assert.deepEqual(personIn(view, GUS.id), {
    role: "member",
    mute: null,
    ban: null,
    addressBan: null,
  });
  assert.equal(personIn(view, "guest:new", "10.0.0.9").addressBan, ban);
  assert.equal(personIn(view, "guest:new", "10.0.0.8").addressBan, null);
});

Deno.test("inForce: until lifted, or until its time (the end itself is past)", () => {
  assert.ok(inForce(sanction("mute", GUS, null), 1e15));
  assert.ok(inForce(sanction("mute", GUS, 100), 99));
  assert.equal(inForce(sanction("mute", GUS, 100), 100), null);
  assert.equal(inForce(null, 0), null);
});

Deno.test("standingOf: the record's owner wins over a membership; sanctions judged at now; the person's ban before the address's", () => {
  const none = { role: null, mute: null, ban: null, addressBan: null };
  assert.equal(
    standingOf(INFO, OWEN.id, { ...none, role: "member" }, 0).role,
    "owner",
  );
  assert.equal(
    standingOf(null, OWEN.id, { ...none, role: "member" }, 0).role,
    "member",
  );
  const mute = sanction("mute", GUS, 100);
  assert.equal(standingOf(INFO, GUS.id, { ...none, mute }, 99).mute, mute);
  assert.equal(standingOf(INFO, GUS.id, { ...none, mute }, 100).mute, null);
  const own = sanction("ban", GUS, 100);
  const byAddress = sanction("ban", MIA, null, "10.0.0.9");
  const both = { ...none, ban: own, addressBan: byAddress };
  assert.equal(standingOf(INFO, GUS.id, both, 99).ban, own);
  // Their own ban ended: the address's still refuses them.
  assert.equal(standingOf(INFO, GUS.id, both, 100).ban, byAddress);
});
