// The rules of the prototype's data API (mlsys-io/Halo_demo scripts/mock_api.py), so that
// link and category answers agree with it on the same wikitext.

// [[Target]], [[Target|label]], [[Target#Section|label]]: group 1 is the target.
const LINK = /\[\[([^[\]|#]+)(?:#[^[\]|]*)?(?:\|[^[\]]*)?\]\]/g;
// [[Category:Name]] or [[ category : Name | sort key ]]: group 1 is the name.
const CATEGORY = /\[\[\s*category\s*:\s*([^[\]|]+?)\s*(?:\|[^[\]]*)?\]\]/gi;
// Namespaces and sister projects whose links are not links to articles.
const NON_ARTICLE_PREFIXES = new Set([
  "file",
  "image",
  "media",
  "category",
  "template",
  "wikipedia",
  "wp",
  "help",
  "portal",
  "special",
  "draft",
  "module",
  "user",
  "talk",
  "wikt",
  "wiktionary",
  "commons",
  "meta",
  "species",
  "s",
  "q",
  "n",
]);
// Interlanguage links: [[fr:Titre]], [[zh-yue:…]].
const LANGUAGE_PREFIX = /^[a-z]{2,3}(-[a-z]+)*$/;

/** A link target as an article title: underscores as spaces, whitespace collapsed, first letter upper case. */
export function articleTitle(target: string): string {
  const title = target.replaceAll("_", " ").trim().split(/\s+/).join(" ");
  return title.slice(0, 1).toUpperCase() + title.slice(1);
}

/**
 * Distinct article titles a page links to, in page order: no file, category,
 * other namespace, sister-project, interlanguage or leading-colon links.
 */
export function wikitextLinks(wikitext: string): string[] {
  const titles = new Set<string>();
  for (const match of wikitext.matchAll(LINK)) {
    const target = (match[1] ?? "").trim();
    if (target.includes(":")) {
      const prefix = (target.replace(/^:+/, "").split(":", 1)[0] ?? "").trim().toLowerCase();
      if (target.startsWith(":") || NON_ARTICLE_PREFIXES.has(prefix) || LANGUAGE_PREFIX.test(prefix))
        continue;
    }
    const title = articleTitle(target);
    if (title !== "") titles.add(title);
  }
  return [...titles];
}

/** Distinct categories a page declares with `[[Category:…]]`, in page order, named as article titles. */
export function wikitextCategories(wikitext: string): string[] {
  const categories = new Set<string>();
  for (const match of wikitext.matchAll(CATEGORY)) {
    const name = match[1] ?? "";
    if (name.trim() !== "") categories.add(articleTitle(name));
  }
  return [...categories];
}
