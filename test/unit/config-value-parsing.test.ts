import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBoolean, parseBytes, parseDuration, parseEnum, parseInteger, parseString, parseStringList, show } from '../../src/config/values.js';

describe('config value parsing', () => {
  it('reads durations with ms, s, m and h units, or plain milliseconds', () => {
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('2m'), 120_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration(' 10 s '), 10_000);
    assert.equal(parseDuration('250'), 250);
    assert.equal(parseDuration(250), 250);
    assert.equal(parseDuration(0), 0);
  });

  it('rejects durations that are negative, unitless words or of another type', () => {
    for (const bad of ['-1s', '10 parsecs', '', 's', '1d', 'ten seconds', -5, Number.NaN, Number.POSITIVE_INFINITY, true, null, undefined, {}]) {
      assert.throws(() => parseDuration(bad), /expected a duration such as 500ms, 30s, 2m or a number of milliseconds, got /, `${String(bad)}`);
    }
  });

  it('reads sizes with decimal and binary units in any case, or plain bytes', () => {
    assert.equal(parseBytes(65536), 65536);
    assert.equal(parseBytes('65536'), 65536);
    assert.equal(parseBytes('64KiB'), 64 * 1024);
    assert.equal(parseBytes('64kib'), 64 * 1024);
    assert.equal(parseBytes('1MiB'), 1024 * 1024);
    assert.equal(parseBytes('1 GiB'), 1024 ** 3);
    assert.equal(parseBytes('10kb'), 10_000);
    assert.equal(parseBytes('2MB'), 2_000_000);
    assert.equal(parseBytes('1GB'), 1_000_000_000);
    assert.equal(parseBytes('1.5KiB'), 1536);
    assert.equal(parseBytes('12b'), 12);
  });

  it('rejects sizes with unknown units, negative or fractional numbers', () => {
    for (const bad of ['64 zettabytes', 'KiB', '-1', '', '1 TiB', -1, 1.5, Number.NaN, false, null, ['1KiB']]) {
      assert.throws(() => parseBytes(bad), /expected a size such as 65536, 64KiB or 1MiB, got /, `${String(bad)}`);
    }
  });

  it('reads integers within their bounds from numbers and strings', () => {
    assert.equal(parseInteger('8080', 0, 65535), 8080);
    assert.equal(parseInteger(0, 0, 65535), 0);
    assert.equal(parseInteger(65535, 0, 65535), 65535);
    assert.throws(() => parseInteger(65536, 0, 65535), /expected an integer from 0 to 65535, got 65536/);
    assert.throws(() => parseInteger('', 0, 10), /got ""/);
    assert.throws(() => parseInteger('  ', 0, 10), /expected an integer/);
    assert.throws(() => parseInteger('3.5', 0, 10), /expected an integer/);
    assert.throws(() => parseInteger(true, 0, 10), /expected an integer/);
  });

  it('reads booleans from true/false, 1/0 and yes/no', () => {
    for (const yes of [true, 'true', '1', 'yes']) assert.equal(parseBoolean(yes), true);
    for (const no of [false, 'false', '0', 'no']) assert.equal(parseBoolean(no), false);
    for (const bad of ['TRUE?', 'on', 2, null]) assert.throws(() => parseBoolean(bad), /expected true or false/);
  });

  it('reads strings and lists of strings', () => {
    assert.equal(parseString('x'), 'x');
    assert.equal(parseString(7), '7');
    assert.throws(() => parseString(null), /expected a string, got null/);
    assert.deepEqual(parseStringList('a, b,,c '), ['a', 'b', 'c']);
    assert.deepEqual(parseStringList(''), []);
    assert.deepEqual(parseStringList(['a', 2]), ['a', '2']);
    assert.throws(() => parseStringList({ a: 1 }), /expected a list of strings or a comma-separated string/);
  });

  it('reads one of a fixed set of words', () => {
    assert.equal(parseEnum('info', ['info', 'warn']), 'info');
    assert.throws(() => parseEnum('INFO', ['info', 'warn']), /expected one of info, warn, got "INFO"/);
  });

  it('shows bad values as JSON, shortened when long', () => {
    assert.equal(show(undefined), 'nothing');
    assert.equal(show('x'), '"x"');
    assert.equal(show('y'.repeat(100)).length, 60);
  });
});
