// The driver of a JavaScript `--keep-state` session (see cell.rs): runs
// each cell it is sent as a script in one persistent global context, as
// node's REPL would: top-level declarations stay, the value of the last
// expression is printed (a promise is awaited first), an uncaught error
// prints its stack and gives 1, process.exit(n) ends only the cell.
const fs = require('fs');
const path = require('path');
const readline = require('readline');
const util = require('util');
const vm = require('vm');
const Module = require('module');

class CellExit {
  constructor(code) {
    this.code = code;
  }
}
const realExit = process.exit.bind(process);
process.exit = (code) => {
  throw new CellExit(code === undefined ? process.exitCode || 0 : code);
};

// What a cell scheduled and failed later must not end the session.
const report = (e) => {
  if (e instanceof CellExit) return;
  process.stderr.write(describe(e));
};
process.on('uncaughtException', report);
process.on('unhandledRejection', report);

function describe(e) {
  const text = e instanceof Error && e.stack ? e.stack : 'Uncaught ' + util.inspect(e);
  // Without this driver's own frames.
  return text
    .split('\n')
    .filter((l) => !l.includes('[eval]') && !l.includes('node:vm'))
    .join('\n') + '\n';
}

async function runCell(cell) {
  let code = 0;
  try {
    process.argv = [process.argv[0], cell.path, ...cell.args];
    // Each run's environment is its own (-e of an earlier run is gone).
    for (const k of Object.keys(process.env)) delete process.env[k];
    Object.assign(process.env, cell.env);
    process.chdir(cell.cwd);
    globalThis.require = Module.createRequire(cell.path);
    globalThis.__filename = cell.path;
    globalThis.__dirname = path.dirname(cell.path);
    const source = fs.readFileSync(cell.path, 'utf8');
    let value = vm.runInThisContext(source, { filename: cell.path });
    if (value && typeof value.then === 'function') value = await value;
    if (value !== undefined) process.stdout.write(util.inspect(value) + '\n');
  } catch (e) {
    if (e instanceof CellExit) {
      code = Number(e.code) & 0xff;
    } else {
      process.stderr.write(describe(e));
      code = 1;
    }
  }
  fs.writeSync(4, JSON.stringify({ id: cell.id, code }) + '\n');
}

const commands = readline.createInterface({ input: fs.createReadStream(null, { fd: 3 }) });
let queue = Promise.resolve();
commands.on('line', (line) => {
  queue = queue.then(() => runCell(JSON.parse(line)));
});
commands.on('close', () => realExit(0));
