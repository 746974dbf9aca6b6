/** One leaf setting: how to parse it, its default and a sentence for `config print --describe` and the docs. */
export interface Field<T = unknown> {
  parse: (value: unknown) => T;
  default: unknown;
  doc: string;
  /** A map or list: given as JSON in an environment variable or flag. */
  structured?: true;
  /**
   * What `config print` masks: true, the whole value (each element of a list, each value of a map);
   * or paths to the secrets inside a structured value, where `*` is any list element or map key.
   * Header values set in the config are all secrets, whatever the header's name.
   */
  secret?: true | readonly string[];
}

export type SchemaNode = Field | { [key: string]: SchemaNode };

/** The parsed settings a schema node describes: a field's parsed value, or an object of its children's. */
export type SettingsOf<Node> = Node extends Field<infer T> ? T : { [Key in keyof Node]: SettingsOf<Node[Key]> };

export function isField(node: SchemaNode): node is Field {
  return typeof (node as Field).parse === 'function';
}
