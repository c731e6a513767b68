import { describe, expect, it } from "vitest";
import { isCompleteCode, normalizeCode } from "./totp";

describe("authenticator code input", () => {
  it("keeps only digits from what is typed or pasted", () => {
    expect(normalizeCode("123 456")).toBe("123456");
    expect(normalizeCode("123-456")).toBe("123456");
    expect(normalizeCode("12a3")).toBe("123");
    expect(normalizeCode("1234567")).toBe("123456");
  });
  it("is complete at exactly six digits", () => {
    expect(isCompleteCode("123456")).toBe(true);
    expect(isCompleteCode("12345")).toBe(false);
    expect(isCompleteCode("12345a")).toBe(false);
  });
});
