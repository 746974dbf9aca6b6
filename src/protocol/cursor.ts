import { SwitchboardError } from './errors.js';
import { maxCursorLength, parseCursor, type Cursor } from './types.js';

export { encodeCursor, type Cursor } from './types.js';

/** The positions of a cursor a client sent; a cursor that is too long or malformed is refused with `bad_request`. */
export function decodeCursor(text: string): Cursor {
  if (text.length > maxCursorLength) throw new SwitchboardError('bad_request', 'cursor is too long');
  const cursor = parseCursor(text);
  if (!cursor) throw new SwitchboardError('bad_request', 'cursor is malformed; pass back the cursor the server gave');
  return cursor;
}
