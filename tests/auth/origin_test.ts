import assert from "node:assert/strict";
import { isAllowedHost, isAllowedOrigin } from "../../lib/auth/origin.ts";
import { sessionTokenOf } from "../../lib/auth/cookie.ts";

Deno.test("isAllowedOrigin: the request's own origin or a configured one; none, or the opaque null, never", () => {
  const url = new URL("http://chat.example:8000/ws/chat/a");
  assert.ok(isAllowedOrigin("http://chat.example:8000", url, []));
  assert.ok(
    isAllowedOrigin("https://app.example", url, ["https://app.example"]),
  );
  assert.ok(!isAllowedOrigin("http://chat.example", url, []), "another port");
  assert.ok(!isAllowedOrigin("https://chat.example:8000", url, []));
  assert.ok(!isAllowedOrigin(undefined, url, []));
  assert.ok(!isAllowedOrigin("null", url, ["null"]));
});

Deno.test("isAllowedHost: any host when none is named; else a named one, with or without its port, in any case", () => {
  assert.ok(isAllowedHost("anything.example", []));
  assert.ok(isAllowedHost(undefined, []));
  const named = ["chat.example"];
  assert.ok(isAllowedHost("chat.example", named));
  assert.ok(isAllowedHost("Chat.Example:8000", named));
  assert.ok(!isAllowedHost("evil.example", named));
  assert.ok(!isAllowedHost("chat.example.evil", named));
  assert.ok(!isAllowedHost(null, named));
  assert.ok(!isAllowedHost("", named));
  assert.ok(isAllowedHost("chat.example:8000", ["chat.example:8000"]));
  assert.ok(!isAllowedHost("chat.example:9000", ["chat.example:8000"]));
});

Deno.test("sessionTokenOf: a Bearer token before the cookie; the session cookie among others; nothing without either", () => {
  assert.equal(
    sessionTokenOf(undefined, "theme=dark; roomcast_session=abc; x=1"),
    "abc",
  );
  assert.equal(sessionTokenOf("Bearer  xyz ", "roomcast_session=abc"), "xyz");
  assert.equal(sessionTokenOf("Basic dXNlcg==", "roomcast_session=abc"), "abc");
  assert.equal(sessionTokenOf(null, "theme=dark"), undefined);
  assert.equal(sessionTokenOf(null, null), undefined);
});
