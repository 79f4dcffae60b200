/**
 * What makes the app installable, over real HTTP: the manifest and its icons
 * (PNG, of the sizes it says), the service worker at the root with the page
 * CSP, and every file of its shell answering 200 (one failure would fail its
 * install).
 */
import assert from "node:assert/strict";
import { startServer } from "../_helpers/server.ts";
import { OFFLINE_PATH } from "../../lib/web/service_worker.ts";

/** Width and height from a PNG's IHDR. */
function pngSize(bytes: Uint8Array): [number, number] {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  assert.deepEqual([...bytes.slice(0, 8)], signature, "a PNG");
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  return [view.getUint32(16), view.getUint32(20)];
}

Deno.test("the web app manifest: name, start URL, standalone, and icons of 192 and 512 px (one maskable) that are what they say", async () => {
  const server = await startServer();
  try {
    const page = await (await fetch(`${server.origin}/`)).text();
    assert.match(
      page,
      /<link rel="manifest" href="\/static\/manifest.webmanifest"/,
    );
    const res = await fetch(`${server.origin}/static/manifest.webmanifest`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /manifest\+json/);
    const manifest = await res.json();
    assert.equal(manifest.name, "Roomcast");
    assert.equal(manifest.start_url, "/");
    assert.equal(manifest.display, "standalone");
    const sizes = new Set<string>();
    for (const icon of manifest.icons) {
      const file = await fetch(`${server.origin}${icon.src}`);
      assert.equal(file.status, 200, icon.src);
      const bytes = new Uint8Array(await file.arrayBuffer());
      if (icon.type !== "image/png") continue;
      const [w, h] = pngSize(bytes);
      assert.equal(`${w}x${h}`, icon.sizes, icon.src);
      sizes.add(
        `${icon.sizes}${icon.purpose === "maskable" ? " maskable" : ""}`,
      );
    }
    for (const needed of ["192x192", "512x512", "512x512 maskable"]) {
      assert.ok(sizes.has(needed), needed);
    }
  } finally {
    await server.close();
  }
});

Deno.test("/sw.js: JavaScript at the root, never cached stale, under the strict CSP; every shell file it caches answers 200", async () => {
  const server = await startServer();
  try {
    const res = await fetch(`${server.origin}/sw.js`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/javascript/);
    assert.equal(res.headers.get("cache-control"), "no-cache");
    assert.match(
      res.headers.get("content-security-policy") ?? "",
      /default-src 'self'/,
    );
    const source = await res.text();
    const settings = JSON.parse(
      source.match(/\)\((\{"version".*\})\);\n/)![1],
    );
    assert.ok(settings.shell.includes(server.services.assets.islands));
    assert.ok(settings.shell.includes(OFFLINE_PATH));
    for (const url of settings.shell) {
      const file = await fetch(`${server.origin}${url}`);
      await file.body?.cancel();
      assert.equal(file.status, 200, url);
    }
    // The offline page names no one, and is a page in the app's layout.
    const offline = await (await fetch(`${server.origin}${OFFLINE_PATH}`))
      .text();
    assert.match(offline, /You(&#39;|')re offline/);
    assert.match(offline, /href="\/"[^>]*>Back to the lobby/);
  } finally {
    await server.close();
  }
});
