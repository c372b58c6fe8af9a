import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { translate } from '../../src/translate/index.js';
import { renderGolden, reversedSnapshot, runCase } from './harness.js';

// Golden translator tests: every directory here with an in.yaml is a case;
// out.yaml holds the expected { table, statuses, diagnostics }.
// Regenerate with UPDATE_GOLDEN=1 (then review every diff against the spec).
const root = dirname(fileURLToPath(import.meta.url));
const update = process.env.UPDATE_GOLDEN === '1';
const cases = readdirSync(root, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(root, d.name, 'in.yaml')))
  .map((d) => d.name)
  .sort();

t.ok(cases.length > 0, 'golden cases exist');

for (const name of cases) {
  t.test(name, (t) => {
    const dir = join(root, name);
    const { snapshot, options, result } = runCase(dir);
    const actual = renderGolden(result);
    const outFile = join(dir, 'out.yaml');
    if (update) writeFileSync(outFile, actual);
    t.ok(existsSync(outFile), 'out.yaml exists (run with UPDATE_GOLDEN=1 to create it)');
    if (existsSync(outFile)) t.equal(actual, readFileSync(outFile, 'utf8'), 'matches out.yaml');
    t.notMatch(actual, /PRIVATE KEY/, 'no key material in the golden output');
    t.ok(Object.isFrozen(result.table) && Object.isFrozen(result.table.ports), 'table is frozen');
    t.equal(renderGolden(translate(reversedSnapshot(snapshot), options)), actual, 'independent of input order');
    t.end();
  });
}
