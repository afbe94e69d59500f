#!/usr/bin/env node
/**
 * Lists functions longer than a limit (default 100 lines) in TypeScript / JavaScript sources, using the
 * TypeScript compiler's parser: function declarations and expressions, arrow functions, methods,
 * constructors and accessors. A function's length is the number of lines from its first to its last line,
 * nested functions included (a nested function is also reported on its own when it is too long).
 *
 * Usage: node tools/check-function-length.mjs [--max <lines>] <dir or file>...
 * Exits 1 when any function is over the limit, 2 on bad arguments.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const SOURCE = /\.(?:[cm]?ts|tsx|[cm]?js|jsx)$/;
const SKIPPED_DIRS = new Set(['node_modules', 'dist', '.git', 'fixtures']);

function parseArgs(argv) {
  let max = 100;
  const paths = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--max') {
      max = Number(argv[++i]);
      if (!Number.isInteger(max) || max < 1) return undefined;
    } else paths.push(argv[i]);
  }
  return paths.length > 0 ? { max, paths } : undefined;
}

function* sourceFiles(path) {
  const stat = statSync(path);
  if (stat.isFile()) {
    if (SOURCE.test(path) && !path.endsWith('.d.ts')) yield path;
    return;
  }
  for (const entry of readdirSync(path).sort()) {
    if (SKIPPED_DIRS.has(entry)) continue;
    yield* sourceFiles(join(path, entry));
  }
}

function functionName(node, source) {
  if (node.name) return node.name.getText(source);
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if (parent && (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) && parent.name) {
    return parent.name.getText(source);
  }
  return '<anonymous>';
}

function isFunctionLike(node) {
  return (
    ts.isFunctionDeclaration(node) ||
    ts.isFunctionExpression(node) ||
    ts.isArrowFunction(node) ||
    ts.isMethodDeclaration(node) ||
    ts.isConstructorDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node)
  );
}

/** `[{ file, line, name, lines }]` of the functions in `file` longer than `max` lines. */
function longFunctions(file, max) {
  const text = readFileSync(file, 'utf8');
  const kind = file.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, kind);
  const found = [];
  const visit = (node) => {
    if (isFunctionLike(node) && node.body) {
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = last - first + 1;
      if (lines > max) found.push({ file, line: first + 1, name: functionName(node, source), lines });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const args = parseArgs(process.argv.slice(2));
if (!args) {
  console.error('usage: node tools/check-function-length.mjs [--max <lines>] <dir or file>...');
  process.exit(2);
}
const offenders = [];
for (const path of args.paths) for (const file of sourceFiles(path)) offenders.push(...longFunctions(file, args.max));
for (const { file, line, name, lines } of offenders) {
  console.log(`${relative(process.cwd(), file)}:${line}: ${name} is ${lines} lines (limit ${args.max})`);
}
if (offenders.length > 0) {
  console.log(`${offenders.length} function(s) over ${args.max} lines`);
  process.exit(1);
}
