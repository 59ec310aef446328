// google.api.http path templates → matchers. Grammar:
//   Template = "/" Segments [ ":" Verb ];  Segment = "*" | "**" | LITERAL | "{" FieldPath [ "=" Segments ] "}"
export interface PathTemplate {
  source: string;
  regex: RegExp;
  /** Field paths (proto names, dotted) of the variables, in capture-group order. */
  variables: string[];
  /** Higher = more specific: literal segments count most, "**" least. */
  specificity: number;
  /** The first two path segments where the template fixes them literally (undefined = any), for the route index. */
  leading: [string | undefined, string | undefined];
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function segmentsRegex(segments: string[], capture: boolean): { re: string; literals: number; deep: number } {
  let literals = 0;
  let deep = 0;
  const parts = segments.map((seg) => {
    if (seg === '**') {
      deep++;
      return capture ? '(.+)' : '.+';
    }
    if (seg === '*') return capture ? '([^/]+)' : '[^/]+';
    literals++;
    return escape(seg);
  });
  return { re: parts.join('/'), literals, deep };
}

export function parsePathTemplate(template: string): PathTemplate {
  if (!template.startsWith('/')) throw new Error(`path template must start with "/": ${template}`);
  let body = template.slice(1);
  let verb = '';
  const lastBrace = body.lastIndexOf('}');
  const colon = body.indexOf(':', lastBrace + 1);
  if (colon >= 0) {
    verb = body.slice(colon + 1);
    body = body.slice(0, colon);
  }
  // Split on "/" outside braces.
  const tokens: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of body) {
    if (ch === '{') depth++;
    if (ch === '}') depth--;
    if (ch === '/' && depth === 0) {
      tokens.push(cur);
      cur = '';
    } else cur += ch;
  }
  tokens.push(cur);

  const variables: string[] = [];
  let literals = 0;
  let deep = 0;
  const parts = tokens.map((tok) => {
    const m = /^\{([A-Za-z_][\w.]*)(?:=(.+))?\}$/.exec(tok);
    if (!m) {
      const r = segmentsRegex([tok], true);
      literals += r.literals;
      deep += r.deep;
      if (tok === '*' || tok === '**') variables.push(''); // anonymous wildcard: captured, not bound
      return r.re;
    }
    variables.push(m[1]);
    const inner = segmentsRegex((m[2] ?? '*').split('/'), false);
    literals += inner.literals;
    deep += inner.deep;
    return `(${inner.re})`;
  });
  const source = '^/' + parts.join('/') + (verb ? ':' + escape(verb) : '') + '$';
  return { source: template, regex: new RegExp(source), variables, specificity: literals * 100 - deep * 10 + tokens.length, leading: leadingLiterals(tokens, verb) };
}

/** Segment i of any matching path when the template fixes it: a literal token, not the verb's segment, after single-segment tokens only. */
function leadingLiterals(tokens: string[], verb: string): [string | undefined, string | undefined] {
  const literal = (i: number) => (i < tokens.length && (i < tokens.length - 1 || !verb) && /^[^{}*]+$/.test(tokens[i]) ? tokens[i] : undefined);
  const single = (tok: string) => tok === '*' || /^[^{}*]+$/.test(tok) || /^\{[A-Za-z_][\w.]*(?:=\*)?\}$/.test(tok);
  return [literal(0), single(tokens[0]) ? literal(1) : undefined];
}

/** Variables of a matching path (URL-decoded), or undefined when the path does not match. */
export function matchPath(t: PathTemplate, path: string): Record<string, string> | undefined {
  const m = t.regex.exec(path);
  if (!m) return undefined;
  const vars: Record<string, string> = {};
  t.variables.forEach((name, i) => {
    if (!name) return;
    vars[name] = m[i + 1]
      .split('/')
      .map((s) => decodeURIComponent(s))
      .join('/');
  });
  return vars;
}
