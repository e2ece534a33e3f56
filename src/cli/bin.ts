#!/usr/bin/env node
// The installed `sesame` command. Separate from main.ts so it runs whatever name or symlink
// starts it (/usr/bin/sesame, npm's bin link), which main.ts's own file-name check can't know.
import { runMain } from './main.js';

runMain().then((code) => {
  process.exitCode = code;
});
