#!/usr/bin/env node
// The bundle of dist/src/cli/main.js (scripts/bundle.js, run by `npm run build`): it starts faster.
import '../dist/bundle/main.js';
