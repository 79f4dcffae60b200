/**
 * Run by `deno task test` before the tests: the browser tests need Debian's
 * Chromium and the Redis tests a `redis-server`. On a fresh machine where we
 * are root, install them from apt; otherwise say exactly what is missing.
 */

const NEEDED: Record<string, string> = {
  "/usr/bin/chromium": "chromium",
  "/usr/bin/redis-server": "redis-server",
};

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

const missing: string[] = [];
for (const [path, pkg] of Object.entries(NEEDED)) {
  if (!await exists(path)) missing.push(pkg);
}
if (missing.length > 0) {
  const root = Deno.uid() === 0;
  if (!root) {
    console.error(
      `missing ${missing.join(", ")}: run  sudo apt-get install -y ${
        missing.join(" ")
      }`,
    );
    Deno.exit(1);
  }
  console.error(`installing ${missing.join(", ")} from apt…`);
  const run = async (args: string[]) => {
    const { code } = await new Deno.Command("apt-get", {
      args,
      env: { DEBIAN_FRONTEND: "noninteractive" },
      stdout: "null",
      stderr: "inherit",
    }).output();
    if (code !== 0) {
      throw new Error(`apt-get ${args.join(" ")} exited with ${code}`);
    }
  };
  await run(["update", "-qq"]);
  await run(["install", "-y", "-qq", ...missing]);
}
