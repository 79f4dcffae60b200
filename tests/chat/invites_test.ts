import assert from "node:assert/strict";
import {
  DEFAULT_INVITE_HOURS,
  DEFAULT_INVITE_USES,
  isInviteToken,
  MAX_INVITE_HOURS,
  MAX_INVITE_USES,
  newInviteToken,
  validateInviteRequest,
} from "../../lib/chat/invites.ts";

Deno.test("validateInviteRequest: defaults, numbers from JSON or a form, limits", () => {
  assert.deepEqual(validateInviteRequest({}), {
    hours: DEFAULT_INVITE_HOURS,
    uses: DEFAULT_INVITE_USES,
  });
  assert.deepEqual(validateInviteRequest({ hours: "2", uses: 1 }), {
    hours: 2,
    uses: 1,
  });
  for (
    const bad of [
      { hours: 0 },
      { hours: MAX_INVITE_HOURS + 1 },
      { hours: 1.5 },
      { uses: 0 },
      { uses: MAX_INVITE_USES + 1 },
      { uses: "x" },
      { uses: null },
    ]
  ) {
    assert.equal(validateInviteRequest(bad), null, JSON.stringify(bad));
  }
});

Deno.test("newInviteToken: 128 random bits, base64url, never twice", () => {
  const tokens = new Set(Array.from({ length: 1_000 }, newInviteToken));
  assert.equal(tokens.size, 1_000);
  for (const t of tokens) assert.ok(isInviteToken(t), t);
  assert.equal(isInviteToken("short"), false);
  assert.equal(isInviteToken("../../../../etc/passwd!"), false);
});
