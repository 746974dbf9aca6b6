import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromServerError } from '../../src/client/errors.js';
import { errorCodes } from '../../src/protocol/errors.js';

describe('the SDK reports the error code the server answered', () => {
  it('keeps every protocol error code, so a failed routing backend is backend_error, not internal', () => {
    for (const code of errorCodes) assert.equal(fromServerError({ code, message: 'm' }).code, code);
  });

  it('turns a code the protocol does not have into the fallback', () => {
    assert.equal(fromServerError({ code: 'made_up', message: 'm' }).code, 'internal');
    assert.equal(fromServerError({ code: 'made_up' }, 'unauthorized').code, 'unauthorized');
  });
});
