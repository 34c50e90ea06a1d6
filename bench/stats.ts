export interface Stat {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

export function stat(samples: number[]): Stat {
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { median: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2, min: s[0], max: s[s.length - 1], samples };
}

export const fmt = (n: number, digits = 2) => n.toFixed(digits);
export const range = (s: Stat, digits = 2) => `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;
