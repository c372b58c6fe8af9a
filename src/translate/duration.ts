const DURATION = /^(?:[0-9]{1,5}(?:h|m|s|ms)){1,4}$/;
const PART = /([0-9]{1,5})(h|ms|m|s)/g;
const UNIT_MS: Readonly<Record<string, number>> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/**
 * A Gateway API Duration (GEP-2257: "1h", "500ms", "1h2m3s4ms", at most four
 * parts) in milliseconds, or undefined when the string is not one.
 */
export function parseGatewayDuration(value: string): number | undefined {
  if (!DURATION.test(value)) return undefined;
  let total = 0;
  for (const m of value.matchAll(PART)) total += Number(m[1]) * (UNIT_MS[m[2]] ?? 0);
  return total;
}
