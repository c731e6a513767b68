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

  it("never touches webview storage", () => {
    const offenders = all
      .filter((f) => !f.rel.endsWith(".test.ts"))
      .filter((f) => /\b(localStorage|sessionStorage|indexedDB|document\.cookie)\b/.test(f.text))
      .map((f) => f.rel);
    expect(offenders).toEqual([]);
  });
});
