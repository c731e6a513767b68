// @vitest-environment node
// Keeps the UI's one door to Rust: only lib/backend.ts may use the generated bindings, and
// only those two files may import @tauri-apps/*.
import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const src = fileURLToPath(new URL(".", import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : /\.(ts|svelte)$/.test(name) ? [p] : [];
  });
}

describe("UI architecture", () => {
  const all = files(src).map((p) => ({ rel: relative(src, p), text: readFileSync(p, "utf8") }));

  it("imports @tauri-apps only in the backend adapter and the generated bindings", () => {
    const offenders = all
      .filter((f) => /from\s+["']@tauri-apps\//.test(f.text))
      .map((f) => f.rel)
      .filter((r) => r !== "lib/backend.ts" && r !== "lib/bindings.ts");
    expect(offenders).toEqual([]);
  });

  it("uses the generated bindings only through the backend adapter", () => {
    const offenders = all
      .filter((f) => /from\s+["']\.{1,2}\/(lib\/)?bindings["']/.test(f.text))
      .map((f) => f.rel)
      .filter((r) => r !== "lib/backend.ts");
    expect(offenders).toEqual([]);
  });

  it("never polls the core: timers only drive the page's own clocks, never a backend call", () => {
    // Issue 19: the core says what changed (follow.ts); a timer may only move a countdown or a
    // "waiting n min" on screen. The one clock-driven call lives in the shell (ARCHITECTURE.md).
    const timers = all
      .filter((f) => !f.rel.endsWith(".test.ts") && f.rel !== "lib/bindings.ts")
      .flatMap((f) =>
        [...f.text.matchAll(/\b(setInterval|setTimeout)\s*\(/g)].map((m) => {
          const start = m.index ?? 0;
          let depth = 0;
          let end = start;
          for (let i = f.text.indexOf("(", start); i < f.text.length; i++) {
            if (f.text[i] === "(") depth++;
            else if (f.text[i] === ")" && --depth === 0) {
              end = i;
              break;
            }
          }
          return { file: f.rel, body: f.text.slice(start, end + 1) };
        }),
      );
    const calling = timers.filter((t) => /\bbackend\b|\bcommands\.|invoke/.test(t.body));
    expect(calling).toEqual([]);
    // Each remaining timer is a local clock in a file named here, so a new one is looked at.
    expect([...new Set(timers.map((t) => t.file))].sort()).toEqual(["lib/IdleWarning.svelte", "lib/Waiting.svelte"]);
  });

  it("never touches webview storage", () => {
    const offenders = all
      .filter((f) => !f.rel.endsWith(".test.ts"))
      .filter((f) => /\b(localStorage|sessionStorage|indexedDB|document\.cookie)\b/.test(f.text))
      .map((f) => f.rel);
    expect(offenders).toEqual([]);
  });
});
