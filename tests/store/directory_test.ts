/**
 * The DirectoryStore contract, on every backend `createStore` offers: people
 * are found by id and by name (any case), and a rename moves them.
 */
import assert from "node:assert/strict";
import type { Stores } from "../../lib/store/types.ts";
import { storeContract } from "./_fixtures/contract.ts";
import type { ChatUser } from "../../lib/chat/types.ts";

const ANA: ChatUser = { id: "google:ana", name: "Ana Lima", kind: "google" };
const ANA2: ChatUser = { id: "guest:a2", name: "ana lima", kind: "guest" };

/** This file's contract: {@link storeContract} for this store. */
function contract(name: string, fn: (stores: Stores) => Promise<void>) {
  storeContract("directory store", name, fn);
}

contract("by id and by name, any case", async ({ directory }) => {
  await directory.remember(ANA, 60_000);
  await directory.remember(ANA2, 60_000);
  assert.deepEqual(await directory.byId(ANA.id), ANA);
  assert.equal(await directory.byId("google:nobody"), null);
  const found = await directory.byName("ANA LIMA", 10);
  assert.deepEqual(found.map((u) => u.id).sort(), [ANA.id, ANA2.id].sort());
  assert.deepEqual(await directory.byName("Ana", 10), []);
});

contract("a rename moves the person", async ({ directory }) => {
  await directory.remember(ANA, 60_000);
  await directory.remember({ ...ANA, name: "Ana L." }, 60_000);
  assert.deepEqual(await directory.byName("Ana Lima", 10), []);
  assert.deepEqual(
    (await directory.byName("ana l.", 10)).map((u) => u.id),
    [ANA.id],
  );
});
