import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MIN_NODE_MAJOR, nodeVersionProblem } from '../../../src/runtime/node-version.ts';

test('Node 24 and newer fit; older ones get one line naming both versions', () => {
  assert.equal(MIN_NODE_MAJOR, 24);
  for (const version of ['24.0.0', '24.21.0', '25.1.0', '30.0.0'])
    assert.equal(nodeVersionProblem(version), undefined, version);
  for (const version of ['20.20.2', '22.11.0', '23.9.9', 'garbage']) {
    const problem = nodeVersionProblem(version);
    assert.ok(problem !== undefined, version);
    assert.ok(problem.includes(`Node.js 24 or newer is required, this is Node.js ${version}`), version);
    assert.ok(!problem.includes('\n'));
  }
});
