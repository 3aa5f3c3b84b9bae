import { describe, expect, it } from 'vitest';
import { SessionCache, type CachedSession } from '../src/sessions/session-cache.js';

function entry(sessionId: string, userId: string): CachedSession {
  return {
    loadedAt: 1,
    found: {
      session: { id: sessionId, userId, secretHash: 'h', createdAt: 1, lastSeenAt: 1, expiresAt: 2, absoluteExpiresAt: 3, authTime: 1, amr: ['passkey'] },
      user: { id: userId, email: `${userId}@example.com`, name: '', role: 'member', disabled: false },
    },
  };
}

describe('SessionCache', () => {
  it('evicts the least recently used entry at the bound', () => {
    const cache = new SessionCache(2);
    cache.set('a', entry('s1', 'u1'));
    cache.set('b', entry('s2', 'u1'));
    cache.get('a');
    cache.set('c', entry('s3', 'u2'));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')?.found.session.id).toBe('s1');
    expect(cache.size).toBe(2);
  });

  it('drops by session id and by user id, and keeps its indexes consistent', () => {
    const cache = new SessionCache(10);
    cache.set('a', entry('s1', 'u1'));
    cache.set('b', entry('s2', 'u1'));
    cache.set('c', entry('s3', 'u2'));
    expect(cache.deleteSession('s3')).toBe(1);
    expect(cache.deleteSession('s3')).toBe(0);
    expect(cache.deleteUser('u1')).toBe(2);
    expect(cache.size).toBe(0);
    cache.set('a', entry('s1', 'u1'));
    expect(cache.deleteUser('u1')).toBe(1);
  });

  it('replacing a key moves it to its new session and user', () => {
    const cache = new SessionCache(10);
    cache.set('a', entry('s1', 'u1'));
    cache.set('a', entry('s2', 'u2'));
    expect(cache.deleteSession('s1')).toBe(0);
    expect(cache.deleteUser('u1')).toBe(0);
    expect(cache.deleteUser('u2')).toBe(1);
  });
});
