// [[Target]], [[Target|label]], [[Target#Section|label]]: group 1 is the target.
const LINK = /\[\[([^[\]|#]+)(?:#[^[\]|]*)?(?:\|[^[\]]*)?\]\]/g;
const NAMESPACE =
  /^\s*:?\s*(category|file|image|media|template|wikipedia|help|portal|special|draft|module|user|talk)\s*:/i;
const CATEGORY = /^\s*category\s*:\s*(.+?)\s*$/i;

/** Distinct article titles a page links to, in page order (no category, file or other namespace links). */
export function wikitextLinks(wikitext: string): string[] {
  const titles = new Set<string>();
  for (const match of wikitext.matchAll(LINK)) {
    const target = (match[1] ?? "").trim();
    if (target !== "" && !NAMESPACE.test(target)) titles.add(target);
  }
  return [...titles];
}

/** Distinct categories a page declares with `[[Category:…]]`, in page order. */
export function wikitextCategories(wikitext: string): string[] {
  const categories = new Set<string>();
  for (const match of wikitext.matchAll(LINK)) {
    const category = CATEGORY.exec(match[1] ?? "")?.[1];
    if (category) categories.add(category);
  }
  return [...categories];
}
