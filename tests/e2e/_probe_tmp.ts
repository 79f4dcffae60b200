import { hydrated, openSession, statusIs } from "./_browser.ts";
import { startServer } from "../_helpers/server.ts";
const t0 = performance.now();
const lap = (s: string) => console.log(s, Math.round(performance.now() - t0));
const server = await startServer();
const s = await openSession(server);
lap("browser");
for (const name of ["Ana", "Ben"]) {
const ana = await s.open();
lap("ctx");
const { cookie } = await server.guest(name);
const [k, v] = [cookie.slice(0, cookie.indexOf("=")), cookie.slice(cookie.indexOf("=") + 1)];
await ana.context.addCookies([{ name: k, value: v, url: server.origin }]);
lap("cookie");
await ana.page.goto("/chat/probe");
lap("goto");
await hydrated(ana.page);
lap("hydrated");
await statusIs(ana.page, "live");
lap("live");
await ana.page.reload();
lap("reload");
await statusIs(ana.page, "live");
lap("live");
}
await s.close();
lap("browser closed");
await server.close();
lap("server closed");
