/**
 * The text of each element of one list in a JSON page, as the source sent it, so a record that
 * was parsed once is not serialised again for the raw JSONL file (re-serialising cost as much CPU
 * as parsing). Only a scan for where values start and end: the page has already been parsed by
 * `JSON.parse`, which is what decides that it is valid JSON; this reads it a second time for the
 * boundaries, and answers `undefined` whenever it is not sure (the caller then serialises).
 * No Node built-ins.
 */

const QUOTE = 34; // "
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const LBRACE = 123;
const RBRACE = 125;
const LBRACKET = 91;
const RBRACKET = 93;

function skipWs(s: string, i: number): number {
  for (;;) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 10 || c === 13 || c === 9) i++;
    else return i;
  }
}

/** index just after the string that starts (with its quote) at `i` */
function stringEnd(s: string, i: number): number {
  let j = i + 1;
  for (;;) {
    const q = s.indexOf('"', j);
    if (q < 0) return -1;
    // escaped when an odd number of backslashes precede it
    let n = 0;
    for (let b = q - 1; s.charCodeAt(b) === BACKSLASH; b--) n++;
    if (n % 2 === 0) return q + 1;
    j = q + 1;
  }
}

/** index just after the value that starts at `i` (a string, object, list or scalar) */
function valueEnd(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c === QUOTE) return stringEnd(s, i);
  if (c === LBRACE || c === LBRACKET) {
    let depth = 0;
    for (let j = i; j < s.length; j++) {
      const d = s.charCodeAt(j);
      if (d === QUOTE) {
        j = stringEnd(s, j) - 1;
        if (j < 0) return -1;
      } else if (d === LBRACE || d === LBRACKET) depth++;
      else if (d === RBRACE || d === RBRACKET) {
        if (--depth === 0) return j + 1;
      }
    }
    return -1;
  }
  let j = i;
  for (; j < s.length; j++) {
    const d = s.charCodeAt(j);
    if (d === COMMA || d === RBRACE || d === RBRACKET || d === 32 || d === 10 || d === 13 || d === 9) break;
  }
  return j > i ? j : -1;
}

/**
 * The texts of the elements of the top-level object's list `key` (the last one, as JSON.parse
 * keeps the last of repeated keys), or undefined when the page is not shaped so, when the count
 * differs from `expected`, or when an element spans lines (a JSONL line must not).
 */
export function listElementTexts(page: string, key: string, expected: number): string[] | undefined {
  let i = skipWs(page, 0);
  if (page.charCodeAt(i) !== LBRACE) return undefined;
  i = skipWs(page, i + 1);
  let found: string[] | undefined;
  if (page.charCodeAt(i) === RBRACE) return undefined;
  for (;;) {
    if (page.charCodeAt(i) !== QUOTE) return undefined;
    const kEnd = stringEnd(page, i);
    if (kEnd < 0) return undefined;
    let k = page.slice(i + 1, kEnd - 1);
    if (k.includes('\\')) {
      try {
        k = JSON.parse(page.slice(i, kEnd)) as string;
      } catch {
        return undefined;
      }
    }
    i = skipWs(page, kEnd);
    if (page.charCodeAt(i) !== COLON) return undefined;
    i = skipWs(page, i + 1);
    if (k === key && page.charCodeAt(i) === LBRACKET) {
      const items: string[] = [];
      i = skipWs(page, i + 1);
      if (page.charCodeAt(i) === RBRACKET) i++;
      else {
        for (;;) {
          const end = valueEnd(page, i);
          if (end < 0) return undefined;
          const text = page.slice(i, end);
          if (text.includes('\n') || text.includes('\r')) return undefined;
          items.push(text);
          i = skipWs(page, end);
          const c = page.charCodeAt(i);
          if (c === COMMA) i = skipWs(page, i + 1);
          else if (c === RBRACKET) {
            i++;
            break;
          } else return undefined;
        }
      }
      found = items;
    } else {
      const end = valueEnd(page, i);
      if (end < 0) return undefined;
      i = end;
    }
    i = skipWs(page, i);
    const c = page.charCodeAt(i);
    if (c === COMMA) i = skipWs(page, i + 1);
    else if (c === RBRACE) break;
    else return undefined;
  }
  return found && found.length === expected ? found : undefined;
}

/**
 * Where an object's text can take more fields: the index of its closing brace, or undefined when
 * the text is not a non-empty object (`{}` has no comma to add after).
 */
export function closingBrace(text: string): number | undefined {
  let end = text.length - 1;
  while (end > 0 && /\s/.test(text[end])) end--;
  if (text.charCodeAt(end) !== RBRACE || text.charCodeAt(skipWs(text, 0)) !== LBRACE) return undefined;
  let inner = end - 1;
  while (inner > 0 && /\s/.test(text[inner])) inner--;
  if (text.charCodeAt(inner) === LBRACE) return undefined;
  return end;
}

/** `,"k":v…}`: what follows an object's text up to its closing brace when `fields` are appended */
export function appendedTail(fields: [string, unknown][]): string {
  let out = '';
  for (const [k, v] of fields) out += `,${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`;
  return `${out}}`;
}

/**
 * An object's text with fields appended (`{"a":1}` + [["b","x"]] → `{"a":1,"b":"x"}`): the same
 * JSON as setting them on the parsed object when none of them is in it yet (the caller checks) —
 * or undefined when the text is not a non-empty object.
 */
export function appendFields(text: string, fields: [string, unknown][]): string | undefined {
  const end = closingBrace(text);
  return end === undefined ? undefined : text.slice(0, end) + appendedTail(fields);
}
