// Validates a CycloneDX 1.6 JSON document against the official schema (the
// npm package @cyclonedx/cyclonedx-library ships it) with ajv. Run by
// tests/audit: node validate_cyclonedx.js AJV_TOOLS_DIR SCHEMA_DIR BOM.json
// Prints "valid", or the errors and exits 1.
'use strict';
const fs = require('fs');
const path = require('path');
const [toolsDir, schemaDir, bomPath] = process.argv.slice(2);
const Ajv = require(path.join(toolsDir, 'node_modules/ajv'));
const addFormats = require(path.join(toolsDir, 'node_modules/ajv-formats'));
const load = (name) => JSON.parse(fs.readFileSync(path.join(schemaDir, name), 'utf8'));
// strict: false because the official schema carries annotation keywords
// ajv does not know; validation keywords are all checked.
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
// Two formats ajv-formats does not define: any string passes them (their
// values here are file paths and none at all).
ajv.addFormat('iri-reference', true);
ajv.addFormat('idn-email', true);
// bom-1.6 refers to its companions by their file names in the package.
for (const name of ['spdx.SNAPSHOT.schema.json', 'jsf-0.82.SNAPSHOT.schema.json']) {
  const schema = load(name);
  delete schema.$id;
  ajv.addSchema(schema, 'http://cyclonedx.org/schema/' + name);
}
const validate = ajv.compile(load('bom-1.6.SNAPSHOT.schema.json'));
if (validate(JSON.parse(fs.readFileSync(bomPath, 'utf8')))) {
  console.log('valid');
} else {
  console.log(JSON.stringify(validate.errors, null, 2));
  process.exit(1);
}
