/**
 * A route selection expression: a JSON path into a client message's data, such as `$.action`,
 * `$.meta.kind` or `$.items[0].type`. AWS's spelling `$request.body.action` is accepted too.
 */
export class SelectionExpression {
  private readonly steps: (string | number)[];

  constructor(readonly source: string) {
    this.steps = parsePath(source);
  }

  /** The value the path points at as a route key: strings as they are, numbers and booleans as text; undefined otherwise. */
  keyOf(data: unknown): string | undefined {
    let value = data;
    for (const step of this.steps) {
      if (value === null || typeof value !== 'object') return undefined;
      if (typeof step === 'number') {
        if (!Array.isArray(value)) return undefined;
        value = value[step];
      } else {
        if (Array.isArray(value) || !Object.hasOwn(value, step)) return undefined;
        value = (value as Record<string, unknown>)[step];
      }
    }
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    return undefined;
  }
}

const stepPattern = /^(?:\.([A-Za-z_$][\w$-]*)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\])/;

function parsePath(source: string): (string | number)[] {
  let rest = source.startsWith('$request.body') ? source.slice('$request.body'.length) : source.startsWith('$') ? source.slice(1) : undefined;
  if (rest === undefined) throw new Error(`selection expression ${JSON.stringify(source)} must start with $ (for example $.action)`);
  const steps: (string | number)[] = [];
  while (rest.length > 0) {
    const m = stepPattern.exec(rest);
    if (!m) throw new Error(`selection expression ${JSON.stringify(source)}: cannot read ${JSON.stringify(rest)}`);
    steps.push(m[2] !== undefined ? Number(m[2]) : (m[1] ?? m[3] ?? m[4])!);
    rest = rest.slice(m[0].length);
  }
  if (steps.length === 0) throw new Error(`selection expression ${JSON.stringify(source)} selects nothing; use a path such as $.action`);
  return steps;
}
