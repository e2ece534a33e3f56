import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { judgeSignIn } from '../../../src/core/oidc-allow.js';

const allow = { groups: ['admins'], emails: ['bob@example.org'] };

describe('who an OIDC sign-in is, and whether the door lets them in', () => {
  test('a member of an allowed group, or a listed verified email, is let in by their email', () => {
    assert.deepEqual(judgeSignIn({ sub: 'a1', email: 'Alice@Example.org', groups: ['admins'] }, allow, 'groups'), {
      ok: true,
      user: 'alice@example.org',
      subject: 'a1',
      email: 'alice@example.org',
    });
    assert.equal(judgeSignIn({ sub: 'b1', email: 'bob@example.org', email_verified: true }, allow, 'groups').ok, true);
    assert.deepEqual(judgeSignIn({ sub: 'x', roles: ['admins'] }, allow, 'roles'), {
      ok: true,
      user: 'x',
      subject: 'x',
    });
  });

  test('an unverified email counts for nothing: anyone can type one at some providers', () => {
    assert.deepEqual(judgeSignIn({ sub: 'e1', email: 'bob@example.org', email_verified: false }, allow, 'groups'), {
      ok: false,
      why: 'email-unverified',
      user: 'bob@example.org',
    });
  });

  test('others are refused by name; a token without a subject is refused; a group claim that is not a list is ignored', () => {
    assert.deepEqual(judgeSignIn({ sub: 'm', email: 'mallory@example.org', groups: ['guests'] }, allow, 'groups'), {
      ok: false,
      why: 'not-allowed',
      user: 'mallory@example.org',
    });
    assert.equal(judgeSignIn({ email: 'bob@example.org' }, allow, 'groups').ok, false);
    assert.equal(judgeSignIn({ sub: 'm', groups: 'admins' }, allow, 'groups').ok, false);
  });
});
