// The text of an image that keyword search reads (its path, label, caption and the words it shows), as SQLite's FTS5
// index takes it. The unicode61 tokenizer splits on spaces and punctuation, but Chinese and Japanese are written
// without spaces: a whole sentence would be one token, and 运动鞋 would never match 这张图片里是一双运动鞋. So each
// Han or kana character is its own token, in the index and in the query alike, and a word of several characters is
// searched as a phrase (the characters in a row). Trigram tokens were the other way: they cannot match a query of
// fewer than three characters, and most Chinese words (鞋子, 衬衫, 包) are one or two.

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/gu;

/** Text as the index stores it: every Han or kana character apart. */
export function indexedText(text: string | null): string {
  return text ? text.replace(CJK, ' $& ') : '';
}

/**
 * Words typed by a user as an FTS5 query: each word (split at spaces) is a phrase of its tokens, quoted so that no
 * character of it reads as FTS5 syntax, and the words are alternatives (OR): bm25 ranks images that hold more of them,
 * and rarer ones, first. null when the text holds no letter or digit.
 */
export function keywordQuery(text: string): string | null {
  const phrases = text.split(/\s+/).flatMap((word) => {
    const tokens = indexedText(word).match(/[\p{L}\p{N}\p{M}]+/gu) ?? [];
    return tokens.length ? [`"${tokens.join(' ')}"`] : [];
  });
  return phrases.length ? phrases.join(' OR ') : null;
}
