#!/usr/bin/env node
'use strict';
require('tsx/cjs');
process.env.BQ_SFTP_CLI_MAIN = '1';
require('../src/cli/main.ts');
