/**
 * The InviteStore contract, on every backend `createStore` offers: a token's
 * uses are counted atomically, expiry and revocation refuse it, listings show
 * only usable invites of one room.
 */
import assert from "node:assert/strict";
import type { Stores } from "../../lib/store/types.ts";
import { storeContract } from "./_fixtures/contract.ts";
import type { Invite } from "../../lib/store/access_types.ts";
import type { Reactor } from "../../lib/chat/types.ts";

const OWEN: Reactor = { id: "google:owen", name: "Owen" };

function invite(token: string, overrides: Partial<Invite> = {}): Invite {
  return {
    token,
    room: "team",
    by: OWEN,
    created: 1_000,
    expires: 10_000,
    maxUses: 2,
    uses: 0,
    ...overrides,
  };
}

/** This file's contract: {@link storeContract} for this store. */
function contract(name: string, fn: (stores: Stores) => Promise<void>) {
  storeContract("invite store", name, fn);
}

contract("an unknown token is not found", async ({ invites }) => {
  assert.equal(await invites.get("nope"), null);
  assert.deepEqual(await invites.redeem("nope", 2_000), {
    ok: false,
    reason: "not_found",
  });
});

contract(
  "uses are counted atomically: concurrent redeems never pass maxUses",
  async ({ invites }) => {
    await invites.create(invite("t1", { maxUses: 3 }));
    const results = await Promise.all(
      Array.from({ length: 8 }, () => invites.redeem("t1", 2_000)),
    );
    assert.equal(results.filter((r) => r.ok).length, 3);
    const refused = results.filter((r) => !r.ok);
    assert.ok(refused.every((r) => !r.ok && r.reason === "used_up"));
    assert.equal((await invites.get("t1"))?.uses, 3);
  },
);

contract("an expired invite is refused as expired", async ({ invites }) => {
  await invites.create(invite("t2"));
  assert.equal((await invites.redeem("t2", 9_999)).ok, true);
  const late = await invites.redeem("t2", 10_000);
  assert.equal(late.ok, false);
  assert.equal(!late.ok && late.reason, "expired");
  assert.equal((await invites.get("t2"))?.uses, 1);
});

contract(
  "a revoked invite is refused, and only its room can revoke it",
  async ({ invites }) => {
    await invites.create(invite("t3"));
    assert.equal(
      await invites.revoke("other-room", "t3", OWEN, 1_500),
      "unknown",
    );
    assert.equal(await invites.revoke("team", "t3", OWEN, 1_500), "revoked");
    assert.equal(await invites.revoke("team", "t3", OWEN, 1_600), "already");
    const r = await invites.redeem("t3", 2_000);
    assert.equal(!r.ok && r.reason, "revoked");
    assert.deepEqual((await invites.get("t3"))?.revoked, {
      by: OWEN,
      ts: 1_500,
    });
    assert.equal(await invites.revoke("team", "missing", OWEN), "unknown");
  },
);

contract(
  "list: the room's usable invites, newest first",
  async ({ invites }) => {
    await invites.create(invite("old", { created: 1_000 }));
    await invites.create(invite("new", { created: 2_000 }));
    await invites.create(invite("gone", { created: 3_000, expires: 4_000 }));
    await invites.create(invite("used", { created: 3_000, maxUses: 1 }));
    await invites.create(invite("revoked", { created: 3_000 }));
    await invites.create(invite("elsewhere", { room: "other" }));
    await invites.redeem("used", 3_500);
    await invites.revoke("team", "revoked", OWEN, 3_500);
    const listed = await invites.list("team", 10, 5_000);
    assert.deepEqual(listed.map((i) => i.token), ["new", "old"]);
    assert.deepEqual(
      (await invites.list("team", 1, 5_000)).map((i) => i.token),
      ["new"],
    );
  },
);
