/**
 * Sorts a short array in place by insertion (stable) and returns it: the
 * searches sort a handful of workers per priced step, where
 * `Array.prototype.sort`'s work array is most of what they allocate.
 */
export function sortSmall<T>(items: T[], compare: (left: T, right: T) => number): T[] {
  for (let position = 1; position < items.length; position++) {
    const item = items[position]!;
    let at = position - 1;
    while (at >= 0 && compare(items[at]!, item) > 0) {
      items[at + 1] = items[at]!;
      at -= 1;
    }
    items[at + 1] = item;
  }
  return items;
}
