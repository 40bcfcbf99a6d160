/**
 * Orders items round-robin over classes: the first item of every class, then
 * the second of every class, and so on, skipping classes that ran out.
 */
export function interleaveByClass<T>(itemsByClass: T[][]): { label: number; item: T }[] {
  const output: { label: number; item: T }[] = [];
  const longest = Math.max(0, ...itemsByClass.map((items) => items.length));
  for (let position = 0; position < longest; position++) {
    itemsByClass.forEach((items, label) => {
      if (position < items.length) output.push({ label, item: items[position]! });
    });
  }
  return output;
}
