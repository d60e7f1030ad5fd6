#!/usr/bin/env node
// Read one field of a JSON document, for the ci/ scripts (they read the CLI's --json output, never its English).
//
//   <command> --json | node ci/json-field.mjs <path>    print the value at <path> ("file", "runs.0.status")
//
// Strings print as they are, anything else as JSON. Exit 1 with a message when the input is not JSON or the field
// is absent, so a script that expected a value stops instead of using an empty one.
const [field] = process.argv.slice(2);
if (!field) {
  process.stderr.write('usage: node ci/json-field.mjs <path>\n');
  process.exit(2);
}
let text = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => (text += d));
process.stdin.on('end', () => {
  let value;
  try {
    value = JSON.parse(text);
  } catch (err) {
    process.stderr.write(`json-field: the input is not JSON (${err.message}): ${JSON.stringify(text.slice(0, 200))}\n`);
    process.exit(1);
  }
  for (const key of field.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.prototype.hasOwnProperty.call(value, key)) {
      process.stderr.write(`json-field: no field ${field} in the input\n`);
      process.exit(1);
    }
    value = value[key];
  }
  process.stdout.write(typeof value === 'string' ? value : JSON.stringify(value));
});
