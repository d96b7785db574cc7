/** Placeholder replaced below. */
export function dashboardHtml(): string {
  return "<!doctype html><title>Halo</title>";
}
