#!/usr/bin/env node
'use strict';
require('tsx/cjs');
const { runCli } = require('../src/cli/main.ts');
runCli(process.argv.slice(2)).then((code) => process.exit(code));
