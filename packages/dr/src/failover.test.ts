import { describe, expect, it } from 'vitest';
import { confString, conninfoValue, lsnBytes, redact } from './failover.js';

describe('failover helpers', () => {
  it('hides the password of a node URL in everything it prints', () => {
    expect(redact('postgres://admin:s3cr%40t@db-1:5432/parley')).toBe(
      'postgres://admin:***@db-1:5432/parley',
    );
    expect(redact('postgres://admin@db-1/parley')).toBe('postgres://admin@db-1/parley');
    expect(redact('not a url')).toBe('(unparseable URL)');
  });

  it('quotes passwords with quotes and backslashes for libpq and for postgresql.conf', () => {
    expect(conninfoValue('plain')).toBe('plain');
    expect(conninfoValue("it's a\\b c")).toBe("'it\\'s a\\\\b c'");
    expect(confString("password='x\\y'")).toBe("'password=''x\\\\y'''");
  });

  it('compares WAL positions across the 32-bit boundary', () => {
    expect(lsnBytes('0/16B3748')).toBe(0x16b3748n);
    expect(lsnBytes('1/0')).toBe(0x100000000n);
    expect(lsnBytes('1/0') > lsnBytes('0/FFFFFFFF')).toBe(true);
  });
});
