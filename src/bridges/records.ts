/** A record as a source hands it over: its bytes and its headers, names lower-cased. */
export interface SourceRecord {
  value: Buffer | undefined;
  headers: Map<string, string>;
}

/** A record that cannot be delivered whatever is retried: it is counted, logged and skipped. */
export class MalformedRecord extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedRecord';
  }
}

export interface DecodedRecord {
  /** The JSON record, or a CloudEvent in structured form (attributes and `data`) whichever mode it came in. */
  event: unknown;
  /** A CloudEvent's data; the record itself when it is not a CloudEvent. */
  data: unknown;
  mode: 'plain' | 'structured' | 'binary';
}

const requiredAttributes = ['specversion', 'id', 'source', 'type'] as const;

function isJsonType(contentType: string): boolean {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || type.endsWith('+json') || type === 'text/json';
}

function checkAttributes(event: Record<string, unknown>, mode: string): void {
  for (const name of requiredAttributes) {
    if (typeof event[name] !== 'string' || event[name] === '') throw new MalformedRecord(`a ${mode} CloudEvent needs the attribute ${name}`);
  }
}

function parseJson(bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new MalformedRecord(`${what} is not valid JSON`);
  }
}

/** Binary mode: attributes are `<prefix>name` headers, the record's value is the data, `content-type` its datacontenttype. */
function decodeBinary(record: SourceRecord, prefix: string): DecodedRecord {
  const event: Record<string, unknown> = {};
  for (const [name, value] of record.headers) {
    if (name.startsWith(prefix) && name.length > prefix.length) event[name.slice(prefix.length)] = value;
  }
  checkAttributes(event, 'binary-mode');
  const contentType = record.headers.get('content-type');
  if (contentType !== undefined) event.datacontenttype = contentType;
  const bytes = record.value;
  if (bytes !== undefined && bytes.length > 0) {
    if (contentType === undefined || isJsonType(contentType)) event.data = parseJson(bytes, 'the data of a binary-mode CloudEvent');
    else if (contentType.toLowerCase().startsWith('text/')) event.data = bytes.toString('utf8');
    else event.data_base64 = bytes.toString('base64');
  }
  return { event, data: event.data ?? event.data_base64 ?? null, mode: 'binary' };
}

/**
 * Reads a record: a CloudEvent in binary mode (a `<prefix>specversion` header: `ce_` on Kafka,
 * `ce-` on NATS and Redis), a CloudEvent in structured mode (content type
 * `application/cloudevents+json`, or a JSON object with a `specversion`), or any JSON value.
 */
export function decodeRecord(record: SourceRecord, headerPrefix: string): DecodedRecord {
  if (record.headers.has(`${headerPrefix}specversion`)) return decodeBinary(record, headerPrefix);
  const contentType = record.headers.get('content-type')?.toLowerCase() ?? '';
  if (contentType.startsWith('application/cloudevents-batch')) throw new MalformedRecord('CloudEvents batch mode is not supported; send one event per record');
  if (record.value === undefined || record.value.length === 0) throw new MalformedRecord('the record is empty');
  const structuredByType = contentType.startsWith('application/cloudevents');
  const value = parseJson(record.value, structuredByType ? 'a structured-mode CloudEvent' : 'the record');
  const isObject = value !== null && typeof value === 'object' && !Array.isArray(value);
  if (structuredByType && !isObject) throw new MalformedRecord('a structured-mode CloudEvent is a JSON object');
  if (structuredByType || (isObject && typeof (value as Record<string, unknown>).specversion === 'string')) {
    const event = value as Record<string, unknown>;
    checkAttributes(event, 'structured-mode');
    return { event, data: event.data ?? event.data_base64 ?? null, mode: 'structured' };
  }
  return { event: value, data: value, mode: 'plain' };
}

/** The value at a dotted path (`data.user.id`) of a JSON value; undefined when the path leads nowhere. */
export function valueAtPath(value: unknown, path: string): unknown {
  let node = value;
  for (const part of path.split('.')) {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}
