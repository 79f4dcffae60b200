import assert from "node:assert/strict";
import { closeOutcome } from "../../../lib/chat/client/close_codes.ts";
import { CloseCode, TERMINAL_CLOSE_CODES } from "../../../lib/shared.ts";

Deno.test("close codes: only a session that ended, a ban or losing a private room is terminal; a flood is never a sign-out", () => {
  const table: [number, ReturnType<typeof closeOutcome>][] = [
    [CloseCode.sessionEnded, "signed-out"],
    [CloseCode.banned, "banned"],
    [CloseCode.kicked, "kicked"],
    [CloseCode.noAccess, "no-access"],
    [CloseCode.rateLimited, "flood"],
    [CloseCode.restart, "reconnect"],
    [CloseCode.tryAgain, "reconnect"],
    [CloseCode.tooBig, "reconnect"],
    [CloseCode.internal, "reconnect"],
    [CloseCode.policy, "reconnect"],
    [CloseCode.normal, "reconnect"],
    [1001, "reconnect"],
    [1006, "reconnect"],
    [4999, "reconnect"],
  ];
  for (const [code, outcome] of table) {
    assert.equal(closeOutcome(code), outcome, `code ${code}`);
  }
  // Every code in the shared table has a row here.
  for (const code of Object.values(CloseCode)) {
    assert.ok(table.some(([c]) => c === code), `code ${code} is covered`);
  }
  for (const code of TERMINAL_CLOSE_CODES) {
    assert.notEqual(closeOutcome(code), "reconnect");
  }
});
