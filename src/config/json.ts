/**
 * JSON parsing that explains a syntax error by line and column only. V8's own messages can
 * quote a slice of the text (`Unexpected token 's', "{"password": s..." is not valid JSON`),
 * and a config's text may hold secrets, so they are never shown.
 */

export type JsonResult = { ok: true; value: unknown } | { ok: false; error: string };

export function parseJsonText(text: string): JsonResult {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return { ok: true, value: JSON.parse(src) as unknown };
  } catch {
    const { pos, reason } = safeLocate(src);
    const { line, column } = lineColumn(src, pos);
    return { ok: false, error: `is not valid JSON: ${reason} at line ${line}, column ${column}` };
  }
}

function safeLocate(src: string): { pos: number; reason: string } {
  try {
    return locateJsonError(src);
  } catch {
    return { pos: 0, reason: 'invalid JSON' }; // never a crash, whatever the text
  }
}

function lineColumn(text: string, pos: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < pos && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: pos - lineStart + 1 };
}

class JsonSyntax extends Error {
  constructor(
    readonly pos: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** Deeper nesting than this is reported, not recursed into (no config needs it; the stack would overflow). */
const MAX_DEPTH = 512;

/** A small strict JSON recogniser that finds where (and roughly why) parsing fails. */
export function locateJsonError(text: string): { pos: number; reason: string } {
  let i = 0;
  let depth = 0;
  const fail = (reason: string, at = i): never => {
    throw new JsonSyntax(at, at >= text.length ? 'unexpected end of input' : reason);
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const literal = (word: string) => {
    for (const ch of word) {
      if (text[i] !== ch) fail('invalid literal (expected true, false or null)');
      i++;
    }
  };
  const string = () => {
    i++; // opening quote
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail('control character in a string (escape it, e.g. \\n)');
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('bad \\u escape in a string', i + 1);
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) {
          i += 2;
        } else {
          fail('bad escape in a string', i + 1);
        }
      } else {
        i++;
      }
    }
  };
  const number = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m || m[0] === '-' || m[0] === '') fail('invalid number');
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if ((c === '{' || c === '[') && ++depth > MAX_DEPTH) fail(`nested more than ${MAX_DEPTH} levels deep`);
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        depth--;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') {
          fail(
            text[i] === '}'
              ? 'trailing comma before }'
              : text[i] === "'"
                ? 'single quotes are not JSON: use double quotes'
                : 'expected a double-quoted property name',
          );
        }
        string();
        ws();
        if (text[i] !== ':') fail("expected ':' after a property name");
        i++;
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          depth--;
          return;
        }
        fail("expected ',' or '}' after a property value");
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        depth--;
        return;
      }
      for (;;) {
        ws();
        if (text[i] === ']') fail('trailing comma before ]');
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          depth--;
          return;
        }
        fail("expected ',' or ']' after a list element");
      }
    } else if (c === '"') {
      string();
    } else if (c === 't') {
      literal('true');
    } else if (c === 'f') {
      literal('false');
    } else if (c === 'n') {
      literal('null');
    } else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
      number();
    } else {
      fail(c === "'" ? 'single quotes are not JSON: use double quotes' : 'unexpected character');
    }
  };
  try {
    value();
    ws();
    if (i < text.length) fail('unexpected text after the end of the JSON value');
    return { pos: 0, reason: 'invalid JSON' };
  } catch (err) {
    if (err instanceof JsonSyntax) return { pos: err.pos, reason: err.reason };
    throw err;
  }
}
