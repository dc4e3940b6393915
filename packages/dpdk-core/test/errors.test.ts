/**
 * The error convention: a code says where it comes from and carries one
 * errno, whether TypeScript or C++ raised it. Loads the addon without
 * initialising EAL, so a C++ check refuses the call.
 */
import { PROJECT_CODES, codeSource, dpdkError, errnoOf, hasCode, lookupMemzone } from '../src';

test('POSIX, DPDK and project codes are told apart, each with its errno', () => {
  expect([codeSource('ENOENT'), errnoOf('ENOENT')]).toEqual(['posix', 2]);
  expect([codeSource('E_RTE_SECONDARY'), errnoOf('E_RTE_SECONDARY')]).toEqual(['dpdk', 1001]);
  for (const code of Object.keys(PROJECT_CODES)) {
    expect({ code, source: codeSource(code), hasErrno: errnoOf(code) > 0 }).toEqual({ code, source: 'project', hasErrno: true });
  }
  expect(codeSource('E_NOBODY_DEFINES_THIS')).toBeUndefined();
});

test('an error thrown from C++ carries the errno its code implies, as one raised in TypeScript does', () => {
  let thrown: unknown;
  try {
    lookupMemzone('anything');
  } catch (e) {
    thrown = e;
  }
  expect(hasCode(thrown, 'E_EAL_NOT_INITIALISED')).toBe(true);
  expect((thrown as { errno: number }).errno).toBe(errnoOf('E_EAL_NOT_INITIALISED'));
  expect(dpdkError('E_EAL_NOT_INITIALISED', 'op', 'message').errno).toBe((thrown as { errno: number }).errno);
  expect(hasCode(new Error('plain'))).toBe(false);
});
