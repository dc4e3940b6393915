import { DpdkError } from '@mp/dpdk-core';
import { checkGraph, dependentsClosure, startWaves, stopWaves } from '../src';

const chain = [
  { name: 'a' },
  { name: 'b', dependsOn: ['a'] },
  { name: 'c', dependsOn: ['b'] },
  { name: 'd' },
];

test('start waves put dependencies first and independent slaves together', () => {
  expect(startWaves(chain)).toEqual([['a', 'd'], ['b'], ['c']]);
  expect(stopWaves(chain)).toEqual([['c'], ['b'], ['a', 'd']]);
});

test('mutually dependent slaves (an l2fwd port pair) start in one wave, after what they depend on', () => {
  const pairs = [
    { name: 'fwd0', dependsOn: ['fwd1', 'src'] },
    { name: 'fwd1', dependsOn: ['fwd0'] },
    { name: 'src' },
    { name: 'fwd2', dependsOn: ['fwd3'] },
    { name: 'fwd3', dependsOn: ['fwd2'] },
    { name: 'mon', dependsOn: ['fwd1'] },
  ];
  expect(startWaves(pairs)).toEqual([['src', 'fwd2', 'fwd3'], ['fwd0', 'fwd1'], ['mon']]);
  expect(dependentsClosure(pairs, ['fwd0'])).toEqual(['fwd0', 'fwd1', 'mon']);
  expect(dependentsClosure(pairs, ['src'])).toEqual(['fwd0', 'fwd1', 'src', 'mon']);
  expect(dependentsClosure(pairs, ['fwd3'])).toEqual(['fwd2', 'fwd3']);
});

test('waves of a subset take dependencies outside it as running', () => {
  expect(startWaves(chain, ['b', 'c'])).toEqual([['b'], ['c']]);
  expect(startWaves(chain, ['c', 'a'])).toEqual([['a', 'c']]);
});

test('the closure follows dependents transitively', () => {
  expect(dependentsClosure(chain, ['a'])).toEqual(['a', 'b', 'c']);
  expect(dependentsClosure(chain, ['c'])).toEqual(['c']);
  expect(dependentsClosure(chain, ['d', 'b'])).toEqual(['b', 'c', 'd']);
});

test('bad graphs are rejected with EINVAL naming the problem', () => {
  const bad = (nodes: Array<{ name: string; dependsOn?: string[] }>, msg: RegExp): void => {
    let caught: unknown;
    try {
      checkGraph(nodes);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(DpdkError);
    expect((caught as DpdkError).code).toBe('EINVAL');
    expect((caught as DpdkError).message).toMatch(msg);
  };
  bad([{ name: 'a' }, { name: 'a' }], /declared twice/);
  bad([{ name: 'a', dependsOn: ['z'] }], /'z', which is not declared/);
  bad([{ name: 'a', dependsOn: ['a'] }], /depends on itself/);
  expect(() => checkGraph(chain)).not.toThrow();
});
