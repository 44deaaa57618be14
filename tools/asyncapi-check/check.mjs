// Parse an AsyncAPI document with the official parser (@asyncapi/parser) and
// fail on any diagnostic of severity "error", so CI refuses a document that
// third-party AsyncAPI tools would refuse. Usage: node check.mjs <asyncapi.json>
import { resolve } from 'node:path';
import { Parser, fromFile, DiagnosticSeverity } from '@asyncapi/parser';

const path = resolve(process.argv[2] ?? '../../libs/events/asyncapi.json');
const names = { 0: 'error', 1: 'warning', 2: 'info', 3: 'hint' };
const { document, diagnostics } = await fromFile(new Parser(), path).parse();

for (const d of diagnostics) {
  const where = d.path.length ? d.path.join('.') : '(document)';
  console.log(`${names[d.severity] ?? d.severity}\t${d.code}\t${where}\t${d.message}`);
}
const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error).length;
if (errors > 0 || document === undefined) {
  console.log(`FAILED: ${errors} error(s) in ${path}`);
  process.exit(1);
}
const channels = document.channels().length;
const operations = document.operations().length;
const messages = document.components().messages().length;
console.log(
  `OK: ${path} parsed: ${channels} channels, ${operations} operations, ${messages} messages, ` +
    `${diagnostics.length} non-error diagnostic(s)`,
);
