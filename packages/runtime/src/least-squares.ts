/**
 * Ordinary least squares with non-negative coefficients, for fitting device
 * profiles (times are sums of non-negative costs). Small systems only: the
 * normal equations are solved by Gaussian elimination, and a coefficient that
 * comes out negative is fixed at zero and the rest refitted (active set).
 */

/** Fits `y ≈ Σ coefficients[j] × rows[i][j]` with every coefficient ≥ 0. */
export function nonNegativeLeastSquares(
  rows: readonly (readonly number[])[],
  targets: readonly number[],
): number[] {
  if (rows.length !== targets.length)
    throw new RangeError("least squares: rows and targets differ in length");
  const width = rows[0]?.length ?? 0;
  const active = new Set(Array.from({ length: width }, (_, index) => index));
  while (active.size > 0) {
    const columns = [...active];
    const solution = solveLeastSquares(
      rows.map((row) => columns.map((column) => row[column]!)),
      targets,
    );
    const negative = solution.findIndex((value) => value < 0);
    if (negative < 0) {
      const coefficients = new Array<number>(width).fill(0);
      columns.forEach((column, index) => {
        coefficients[column] = solution[index]!;
      });
      return coefficients;
    }
    active.delete(columns[negative]!);
  }
  return new Array<number>(width).fill(0);
}

/** Unconstrained least squares through the normal equations; a singular system gives zeros for its free part. */
function solveLeastSquares(rows: readonly (readonly number[])[], targets: readonly number[]): number[] {
  const width = rows[0]?.length ?? 0;
  const matrix = Array.from({ length: width }, () => new Array<number>(width + 1).fill(0));
  rows.forEach((row, index) => {
    for (let i = 0; i < width; i++) {
      for (let j = 0; j < width; j++) matrix[i]![j]! += row[i]! * row[j]!;
      matrix[i]![width]! += row[i]! * targets[index]!;
    }
  });
  for (let pivot = 0; pivot < width; pivot++) {
    let best = pivot;
    for (let row = pivot + 1; row < width; row++) {
      if (Math.abs(matrix[row]![pivot]!) > Math.abs(matrix[best]![pivot]!)) best = row;
    }
    [matrix[pivot], matrix[best]] = [matrix[best]!, matrix[pivot]!];
    const value = matrix[pivot]![pivot]!;
    if (Math.abs(value) < 1e-12) continue;
    for (let row = 0; row < width; row++) {
      if (row === pivot) continue;
      const factor = matrix[row]![pivot]! / value;
      for (let column = pivot; column <= width; column++)
        matrix[row]![column]! -= factor * matrix[pivot]![column]!;
    }
  }
  return matrix.map((row, index) => (Math.abs(row[index]!) < 1e-12 ? 0 : row[width]! / row[index]!));
}
