// node:test reporter that writes one JSON line per skipped test or suite, at any nesting level.
// The runner reads it under CI=true: node's own "ℹ skipped" count leaves out skipped describes,
// so a whole e2e suite skipped for a missing tool used to pass as "tests 0, skipped 0".
export default async function* skipReporter(source) {
  for await (const event of source) {
    if ((event.type === 'test:pass' || event.type === 'test:fail') && event.data.skip !== undefined) {
      const { name, file, skip } = event.data;
      yield `${JSON.stringify({ name, file, reason: skip === true ? 'skipped' : String(skip) })}\n`;
    }
  }
}
