import assert from "node:assert/strict";
import { clientOf, TrustedProxies } from "../../lib/web/client_address.ts";

const none = new TrustedProxies([]);
const proxies = new TrustedProxies(["10.0.0.0/8", "fd00::/8"]);
const fields =
  (forwardedFor: string | null, proto: string | null = null) =>
  (name: string) =>
    name === "x-forwarded-for"
      ? forwardedFor
      : name === "x-forwarded-proto"
      ? proto
      : null;

Deno.test("clientOf: a peer is its own client; an IPv6 one counts as its /64, whole in `exact`", () => {
  assert.deepEqual(
    clientOf("203.0.113.9", "http://a/", fields("198.51.100.1"), none),
    { address: "203.0.113.9", exact: "203.0.113.9", https: false },
  );
  assert.deepEqual(
    clientOf("2001:db8:1:2:aaaa::1", "https://a/", fields(null), none),
    {
      address: "2001:db8:1:2::/64",
      exact: "2001:db8:1:2:aaaa::1",
      https: true,
    },
  );
  assert.equal(
    clientOf("::ffff:203.0.113.9", "http://a/", fields(null), none).address,
    "203.0.113.9",
  );
});

Deno.test("clientOf: behind a trusted proxy, the right-most untrusted hop, by its /64; an untrusted peer's header is ignored", () => {
  assert.deepEqual(
    clientOf(
      "10.0.0.5",
      "http://a/",
      fields("192.0.2.1, 2001:db8:9:9::5, 10.0.0.7", "https"),
      proxies,
    ),
    { address: "2001:db8:9:9::/64", exact: "2001:db8:9:9::5", https: true },
  );
  assert.equal(
    clientOf("203.0.113.9", "http://a/", fields("192.0.2.1"), proxies).address,
    "203.0.113.9",
  );
  // A hop that is no address ends the walk at the last good one (a proxy).
  assert.equal(
    clientOf(
      "10.0.0.5",
      "http://a/",
      fields("192.0.2.1, garbage, 10.0.0.7"),
      proxies,
    ).address,
    "10.0.0.7",
  );
});
