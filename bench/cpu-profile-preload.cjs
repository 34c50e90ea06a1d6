/* global require, process */
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS preload, loaded by node itself */
// Loaded with NODE_OPTIONS=--require (which cannot carry --cpu-prof): profiles the whole process
// with the inspector and writes <BQSFTP_CPU_PROF_DIR>/<pid>.cpuprofile when it exits (bench P8,
// BQSFTP_P8_CPU_PROF). Open the file in Chrome DevTools or speedscope.
const inspector = require('node:inspector');
const fs = require('node:fs');
const path = require('node:path');

const dir = process.env.BQSFTP_CPU_PROF_DIR;
if (dir) {
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  process.on('exit', () => {
    // a session on the main thread answers synchronously, so this runs before the process ends
    session.post('Profiler.stop', (err, res) => {
      if (!err) fs.writeFileSync(path.join(dir, `${process.pid}.cpuprofile`), JSON.stringify(res.profile));
    });
  });
}
