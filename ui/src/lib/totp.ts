// Sign-in form helpers that are pure, so they are unit-tested without a DOM.

/** Keeps the digits of what was typed or pasted ("123 456", "123-456" → "123456"), max 6. */
export function normalizeCode(input: string): string {
  return input.replace(/\D/g, "").slice(0, 6);
}

export function isCompleteCode(code: string): boolean {
  return /^\d{6}$/.test(code);
}
