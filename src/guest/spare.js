// The pre-started interpreter of a javascript container (see warm.rs).
// Started by the guest as the program's user, in a session of its own,
// with the run's stdin, stdout and stderr already in place; it boots, says
// so on fd 4, and waits on fd 3 for its run: one JSON line (path, args,
// env, cwd). It then becomes the program, as `node prog.js` would run it.
// It serves exactly one run; the guest starts the next one after the
// clean-up, so it never runs beside a program.
'use strict';
(() => {
  const fs = require('fs');
  const { runMain } = require('module');
  // Booted: the guest announces the container ready once it reads this.
  fs.writeSync(4, '\n');
  fs.closeSync(4);
  const chunks = [];
  const buf = Buffer.alloc(65536);
  for (;;) {
    let n;
    try {
      n = fs.readSync(3, buf, 0, buf.length, null);
    } catch (e) {
      if (e.code === 'EAGAIN' || e.code === 'EINTR') continue;
      process.exit(3);
    }
    if (n === 0) process.exit(3); // the guest is gone
    const got = Buffer.from(buf.subarray(0, n));
    chunks.push(got);
    if (got.includes(10)) break;
  }
  fs.closeSync(3);
  const run = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  for (const k of Object.keys(process.env)) delete process.env[k];
  Object.assign(process.env, run.env);
  process.chdir(run.cwd);
  process.argv = [process.execPath, run.path, ...run.args];
  // `node prog.js` has none; child_process.fork() passes these on.
  process.execArgv = [];
  runMain();
})();
