// Checks the flag schema as editors use it: yaml-language-server (the engine behind the
// VS Code YAML extension and most editors' YAML support) validates flag files against
// ../edgeflag.schema.json.
//
//   node check.js --valid FILE...    every file must have no diagnostics
//   node check.js --invalid FILE...  every file must have at least one diagnostic
//
// Diagnostics are printed as file:line:column: message, prefixed "error: " when they fail
// the check (--valid) and "expected: " when they are what a broken fixture must produce
// (--invalid), so a passing run reads as one: it ends with a one-line summary.
'use strict';
const fs = require('fs');
const path = require('path');
const { getLanguageService } = require('yaml-language-server/lib/umd/languageservice/yamlLanguageService');
const { TextDocument } = require('vscode-languageserver-textdocument');

const schemaFile = path.resolve(__dirname, '..', 'edgeflag.schema.json');
const schemaURI = 'file://' + schemaFile;

const service = getLanguageService({
  schemaRequestService: (uri) => Promise.resolve(fs.readFileSync(new URL(uri), 'utf8')),
  workspaceContext: { resolveRelativePath: (rel, resource) => new URL(rel, resource).toString() },
});
service.configure({ validate: true, schemas: [{ uri: schemaURI, fileMatch: ['*.yaml', '*.yml'] }] });

async function main() {
  const [mode, ...files] = process.argv.slice(2);
  if ((mode !== '--valid' && mode !== '--invalid') || files.length === 0) {
    console.error('usage: node check.js --valid|--invalid FILE...');
    process.exit(2);
  }
  const valid = mode === '--valid';
  let failed = 0;
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    const doc = TextDocument.create('file://' + path.resolve(file), 'yaml', 1, text);
    const diagnostics = await service.doValidation(doc, false);
    const prefix = valid ? 'error: ' : 'expected: ';
    for (const d of diagnostics) {
      console.log(`${prefix}${file}:${d.range.start.line + 1}:${d.range.start.character + 1}: ${d.message}`);
    }
    if (valid === (diagnostics.length > 0)) {
      failed++;
      console.log(`error: ${file}: ${valid ? 'expected no diagnostics' : 'expected diagnostics, got none'}`);
    }
  }
  if (failed > 0) {
    console.log(`FAIL: ${failed} of ${files.length} ${valid ? 'valid files have diagnostics' : 'broken fixtures were not rejected'}`);
  } else if (valid) {
    console.log(`ok: ${files.length} valid files, no diagnostics`);
  } else {
    console.log(`ok: ${files.length} broken fixtures rejected as expected (the "expected:" lines above are their diagnostics)`);
  }
  process.exit(failed > 0 ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
