import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DocTrails, Trail } from './doc-trails';

describe(DocTrails.name, () => {
  const root = join(__dirname, '..', '..', '..');
  const sut = new DocTrails(root);
  const trails = sut.read(readFileSync(join(root, 'docs', 'sse.md'), 'utf8'));
  const filesOf = (trail: Trail) => [...new Set(trail.steps.map(({ file }) => basename(file)))].sort();

  it('reads both trails of docs/sse.md, each with numbered steps and names', () => {
    expect(trails.map(({ title }) => title)).toEqual([
      'Trail 1: a `Last-Event-ID` replay of `v2` on Kafka',
      'Trail 2: the assembly of a `GET /sse` connection',
    ]);
    for (const trail of trails) {
      expect(trail.steps.length).toBeGreaterThan(5);
      expect(trail.named.length).toBeGreaterThan(0);
    }
  });

  it('gives only names the code still declares', () => {
    const references = trails.flatMap(({ steps, named }) => [...steps, ...named]);
    expect(sut.missing(references).map(({ text }) => text)).toEqual([]);
  });

  it('opens at most five files on each trail: those it lists', () => {
    for (const trail of trails) {
      expect(filesOf(trail).length).toBeLessThanOrEqual(5);
      expect(filesOf(trail)).toEqual([...trail.opened].sort());
    }
  });

  it('reports a file, a declaration or a member that is gone, and counts only the numbered steps', () => {
    const [trail] = sut.read(
      [
        '## Two trails through the code',
        '',
        '### Trail 9: a test',
        '',
        'Files opened: `sse-connection.ts`.',
        '',
        '1. `src/sse/sse-connection.ts:SseConnection.send` then',
        '   `src/sse/sse-connection.ts:SseConnection.write`.',
        '2. `src/sse/sse-connection.ts:NoSuchThing`, `src/sse/gone.ts:Gone`.',
        '',
        'Named: `src/sse/sse-event.ts:SseEvent.frame`, `src/sse/sse-framing.ts:encodeEvent`.',
        '',
        '## Next',
        '',
        '1. `src/sse/outside.ts:Outside`',
      ].join('\n'),
    );
    expect(trail.opened).toEqual(['sse-connection.ts']);
    expect(trail.steps.map(({ name }) => name)).toEqual([
      'SseConnection.send',
      'SseConnection.write',
      'NoSuchThing',
      'Gone',
    ]);
    expect(trail.named.map(({ name }) => name)).toEqual(['SseEvent.frame', 'encodeEvent']);
    expect(sut.missing([...trail.steps, ...trail.named]).map(({ text }) => text)).toEqual([
      '`src/sse/sse-connection.ts:SseConnection.write`',
      '`src/sse/sse-connection.ts:NoSuchThing`',
      '`src/sse/gone.ts:Gone`',
    ]);
  });
});
