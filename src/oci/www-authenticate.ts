/**
 * `WWW-Authenticate` parsing (RFC 7235 §4.1): one or more challenges, each a scheme followed by
 * comma-separated `name=value` params whose values may be quoted strings holding commas, `=` and
 * backslash escapes, e.g. `Bearer realm="https://auth.io/token",service="reg",scope="repository:a/b:pull,push"`.
 * The Docker token flow reads `realm`, `service` and `scope` from the Bearer challenge
 * (https://distribution.github.io/distribution/spec/auth/token/).
 */

export interface Challenge {
  /** Lowercased scheme, e.g. `bearer`, `basic`. */
  scheme: string;
  /** Lowercased param names → values (unquoted, unescaped). */
  params: Record<string, string>;
}

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

export function parseWwwAuthenticate(header: string): Challenge[] {
  const scanner = new Scanner(header);
  const challenges: Challenge[] = [];
  for (;;) {
    scanner.skip(' \t,');
    const scheme = scanner.token();
    if (scheme === '') break;
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    challenges.push(challenge);
    readParams(scanner, challenge);
  }
  return challenges;
}

function readParams(scanner: Scanner, challenge: Challenge): void {
  for (;;) {
    scanner.skip(' \t');
    const mark = scanner.position;
    const name = scanner.token();
    scanner.skip(' \t');
    if (name === '' || !scanner.consume('=')) {
      // Not `name=value`: the next challenge's scheme (or a token68, which no flow here uses).
      scanner.position = mark;
      return;
    }
    scanner.skip(' \t');
    const value = scanner.peek() === '"' ? scanner.quoted() : scanner.token();
    challenge.params[name.toLowerCase()] = value;
    scanner.skip(' \t');
    if (!scanner.consume(',')) return;
  }
}

class Scanner {
  position = 0;
  private readonly text: string;

  constructor(text: string) {
    this.text = text;
  }

  atEnd(): boolean {
    return this.position >= this.text.length;
  }

  peek(): string {
    return this.text[this.position] ?? '';
  }

  consume(char: string): boolean {
    if (this.peek() !== char) return false;
    this.position++;
    return true;
  }

  skip(chars: string): void {
    while (!this.atEnd() && chars.includes(this.peek())) this.position++;
  }

  token(): string {
    const start = this.position;
    while (!this.atEnd() && TOKEN_CHAR.test(this.peek())) this.position++;
    return this.text.slice(start, this.position);
  }

  /** A quoted-string with backslash escapes; an unterminated one runs to the end of the header. */
  quoted(): string {
    this.position++;
    let value = '';
    while (!this.atEnd()) {
      const char = this.peek();
      this.position++;
      if (char === '"') return value;
      if (char === '\\' && !this.atEnd()) {
        value += this.peek();
        this.position++;
      } else {
        value += char;
      }
    }
    return value;
  }
}
