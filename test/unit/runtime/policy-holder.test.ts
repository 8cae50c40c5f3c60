// The policy holder's change subscription (what the controller requeues on): called after every replacement,
// never for a refused policy, stoppable, and a failing listener neither undoes the reload nor silences the
// others. And end to end through `policyFromFile`: an edit of the file notifies, an invalid edit does not.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { PinwardenError } from '../../../src/core/errors.ts';
import { defaultPolicy } from '../../../src/core/policy/index.ts';
import { createLogger, createPolicyHolder, policyFromFile } from '../../../src/runtime/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'pw-policy-holder-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function capturingLogger(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: createLogger({ level: 'info', destination }), lines };
}

const named = (name: string) => ({ ...defaultPolicy(), metadata: { name } });

test('onChange: once per replacement, never for a refusal; unsubscribe stops it', () => {
  const { logger } = capturingLogger();
  const holder = createPolicyHolder(defaultPolicy(), { logger });
  const seen: Array<{ name: string; generation: number }> = [];
  const stop = holder.onChange(() =>
    seen.push({ name: holder.current().metadata.name, generation: holder.current().metadata.generation ?? 0 }),
  );
  holder.replace(named('one'), {});
  holder.refuse(new PinwardenError('PW_POLICY_INVALID', 'bad'), {});
  holder.replace(named('two'), {});
  assert.deepEqual(seen, [
    { name: 'one', generation: 2 },
    { name: 'two', generation: 3 },
  ]);
  stop();
  holder.replace(named('three'), {});
  assert.equal(seen.length, 2);
  assert.equal(holder.current().metadata.name, 'three');
});

test('onChange: a listener that throws is logged; the reload stands and the other listeners still run', () => {
  const { logger, lines } = capturingLogger();
  const holder = createPolicyHolder(defaultPolicy(), { logger });
  let calls = 0;
  holder.onChange(() => {
    throw new Error('listener broke');
  });
  holder.onChange(() => calls++);
  holder.replace(named('next'), { file: 'p.yaml' });
  assert.equal(calls, 1);
  assert.equal(holder.current().metadata.name, 'next');
  assert.ok(lines.some((line) => line.includes('policy change listener failed') && line.includes('listener broke')));
});

test('policyFromFile: an edited file notifies the subscribers; an invalid edit keeps the policy and notifies nobody', async () => {
  const file = join(dir, 'policy.yaml');
  const doc = (mode: string): string =>
    `apiVersion: pinwarden.dev/v1alpha1\nkind: SourcePolicy\nmetadata: {name: ${mode}}\nspec: {mode: ${mode}}\n`;
  writeFileSync(file, doc('enforce'));
  const { logger } = capturingLogger();
  const source = await policyFromFile(file, { logger, debounceMs: 20, pollMs: 50 });
  try {
    let changes = 0;
    source.onChange(() => changes++);
    writeFileSync(file, doc('warn'));
    const end = Date.now() + 10_000;
    while (changes === 0 && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(changes, 1);
    assert.equal(source.current().spec.mode, 'warn');
    writeFileSync(file, 'kind: SourcePolicy\nspec: {mode: maybe}\n');
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(changes, 1, 'an invalid document is refused: no change');
    assert.equal(source.current().spec.mode, 'warn');
  } finally {
    source.close();
  }
});
