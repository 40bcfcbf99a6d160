/** An axis range with its tick positions; `spacing` is the step between linear ticks. */
export interface Axis {
  min: number;
  max: number;
  ticks: number[];
  spacing: number;
}

const TARGET_TICK_COUNT = 6;

/**
 * Chooses about six evenly spaced ticks at 1, 2 or 5 times a power of ten
 * that cover the values, and widens the range to the outer ticks. An empty
 * list gives [0, 1]; equal values get a range of one unit around them.
 */
export function linearTicks(values: number[]): Axis {
  let [low, high] = values.length > 0 ? minMax(values) : [0, 1];
  if (low === high) {
    low -= 0.5 * (Math.abs(low) || 1);
    high += 0.5 * (Math.abs(high) || 1);
  }
  const spacing = niceSpacing((high - low) / TARGET_TICK_COUNT);
  const first = Math.floor(low / spacing);
  const last = Math.ceil(high / spacing);
  const ticks: number[] = [];
  for (let index = first; index <= last; index++) {
    // Multiply, not add, and round off binary noise such as 0.6000000000000001.
    ticks.push(cleanDecimal(index * spacing));
  }
  return { min: ticks[0]!, max: ticks[ticks.length - 1]!, ticks, spacing };
}

/**
 * Chooses ticks at powers of ten covering the positive values, plus 2x and
 * 5x ticks when the range spans fewer than three decades. Values must be
 * positive; an empty list gives [1, 10].
 */
export function logTicks(values: number[]): Axis {
  const [smallest, largest] = values.length > 0 ? minMax(values) : [1, 10];
  const lowDecade = Math.floor(Math.log10(smallest));
  let highDecade = Math.ceil(Math.log10(largest));
  if (highDecade === lowDecade) highDecade += 1;

  const multipliers = highDecade - lowDecade < 3 ? [1, 2, 5] : [1];
  const ticks: number[] = [];
  for (let decade = lowDecade; decade <= highDecade; decade++) {
    for (const multiplier of multipliers) {
      const tick = multiplier * powerOfTen(decade);
      if (tick <= powerOfTen(highDecade)) ticks.push(cleanDecimal(tick));
    }
  }
  return { min: powerOfTen(lowDecade), max: powerOfTen(highDecade), ticks, spacing: 0 };
}

/**
 * Formats a tick label. Linear ticks show as many decimals as their
 * spacing needs. Log ticks (spacing 0) and very large or small numbers use
 * exponent notation such as 1e-4.
 */
export function formatTick(value: number, spacing: number): string {
  const magnitude = Math.abs(value);
  if (value === 0) return '0';
  if (spacing === 0 || magnitude >= 1e5 || magnitude < 1e-3) {
    if (magnitude >= 1e-3 && magnitude < 1e5) return String(Number(value.toPrecision(6)));
    const [mantissa, exponent] = value.toExponential().split('e');
    return `${Number(Number(mantissa).toPrecision(6))}e${Number(exponent)}`;
  }
  const decimals = Math.max(0, -Math.floor(Math.log10(spacing) + 1e-9));
  return value.toFixed(decimals);
}

function niceSpacing(roughSpacing: number): number {
  const power = powerOfTen(Math.floor(Math.log10(roughSpacing)));
  const fraction = roughSpacing / power;
  for (const multiplier of [1, 2, 5]) {
    if (fraction <= multiplier) return multiplier * power;
  }
  return 10 * power;
}

/** Returns 10^exponent exactly as parsed, because 10 ** -4 is 0.00009999999999999999. */
function powerOfTen(exponent: number): number {
  return Number(`1e${exponent}`);
}

function cleanDecimal(value: number): number {
  return Number(value.toPrecision(12));
}

/** Returns [min, max] without spreading a huge array into Math.min. */
function minMax(values: number[]): [number, number] {
  let low = Infinity;
  let high = -Infinity;
  for (const value of values) {
    if (value < low) low = value;
    if (value > high) high = value;
  }
  return [low, high];
}
