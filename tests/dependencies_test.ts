/**
 * What `deno task start` installs on a fresh clone: `nodeModulesDir: "auto"`
 * makes the task runner install every package of `deno.json`'s imports and
 * `deno.lock` first, so packages only the tests use (Playwright, axe-core)
 * live in `tests/import_map.json` and `tests/deno.lock` instead, used by
 * `deno task test` and `deno task check`.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
/** Packages only the browser tests (and the scripts that drive Chromium) use. */
const TEST_ONLY = ["playwright-core", "axe-core"];

const rootConfig = JSON.parse(
  await Deno.readTextFile(new URL("deno.json", ROOT)),
);
const testMap = JSON.parse(
  await Deno.readTextFile(new URL("tests/import_map.json", ROOT)),
);

Deno.test("tests/import_map.json is deno.json's imports, same versions, plus the test-only packages", () => {
  const expected = { ...rootConfig.imports };
  for (const name of TEST_ONLY) {
    assert.ok(!(name in rootConfig.imports), `${name} is not in deno.json`);
    assert.ok(testMap.imports[name], `${name} is in tests/import_map.json`);
    expected[name] = testMap.imports[name];
  }
  assert.deepEqual(testMap.imports, expected);
});

Deno.test("deno.lock names no test-only package", async () => {
  const lock = JSON.parse(await Deno.readTextFile(new URL("deno.lock", ROOT)));
  const names = [
    ...Object.keys(lock.specifiers ?? {}),
    ...Object.keys(lock.npm ?? {}),
  ];
  for (const name of TEST_ONLY) {
    assert.deepEqual(names.filter((n) => n.includes(name)), [], name);
  }
});

Deno.test("what the task runner installs for `deno task start` on a fresh clone: no test-only package", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const file of ["deno.json", "deno.lock"]) {
      await Deno.copyFile(new URL(file, ROOT), `${dir}/${file}`);
    }
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["install"],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stderr) +
      new TextDecoder().decode(out.stdout);
    assert.ok(out.success, text);
    const installed = [...Deno.readDirSync(`${dir}/node_modules/.deno`)]
      .map((e) => e.name);
    assert.ok(installed.some((n) => n.startsWith("hono@")), "it installed");
    for (const name of TEST_ONLY) {
      assert.deepEqual(installed.filter((n) => n.startsWith(`${name}@`)), []);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
