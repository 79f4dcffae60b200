/**
 * Islands run in the browser: everything they import, however indirectly,
 * must be a browser-safe module — no server code (stores, layers, auth, Deno
 * APIs) bundled into the page. The module graph comes from `deno info`.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

/** Local modules an island may reach: pure logic shared with the server, and UI. */
const BROWSER_SAFE = [
  /^islands\/[^/]+\.tsx?$/,
  /^components\/[^/]+\.tsx?$/,
  /^lib\/chat\/client\/[^/]+\.ts$/,
  /^lib\/chat\/(protocol|types|names|presence|timeline|backoff|mentions|rate_limit|events)\.ts$/,
  /^lib\/web\/(markdown|identity|times|mention_completion|composer_limit)\.ts$/,
  /^lib\/(shared|lru)\.ts$/,
];
/** npm packages an island may reach. */
const BROWSER_PACKAGES = ["preact", "@preact/signals"];

async function moduleGraph(entry: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout));
  return info.modules.map((m: { specifier: string }) => m.specifier);
}

function isAllowed(specifier: string): boolean {
  if (specifier.startsWith(ROOT.href)) {
    const path = specifier.slice(ROOT.href.length);
    return BROWSER_SAFE.some((re) => re.test(path));
  }
  const npm = specifier.match(/^npm:\/?(@[^/@]+\/[^/@]+|[^/@]+)@/);
  return npm !== null && BROWSER_PACKAGES.includes(npm[1]);
}

Deno.test("islands import only browser-safe modules", async () => {
  const islands = [...Deno.readDirSync(new URL("islands/", ROOT))]
    .filter((e) => e.isFile && /\.tsx?$/.test(e.name))
    .map((e) => `islands/${e.name}`);
  assert.ok(islands.length > 0);
  for (const island of islands) {
    const graph = await moduleGraph(island);
    assert.ok(graph.length > 1, `${island} has a module graph`);
    const unsafe = graph.filter((s) => !isAllowed(s));
    assert.deepEqual(unsafe, [], `${island} reaches server-only modules`);
  }
});

Deno.test("the browser-safe rule refuses server modules", () => {
  for (
    const server of [
      "lib/server.ts",
      "lib/store/messages.ts",
      "lib/chat/consumer.ts",
      "lib/auth/session.ts",
    ]
  ) {
    assert.equal(isAllowed(new URL(server, ROOT).href), false, server);
  }
  assert.equal(isAllowed("npm:/redis@6.3.1"), false);
  assert.equal(isAllowed("npm:/@preact/signals@2.11.4"), true);
  assert.equal(isAllowed("npm:/preact@10.29.8/hooks"), true);
});
