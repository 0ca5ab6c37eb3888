#!/usr/bin/env node
// Production launcher: runs the compiled commands in dist/ (npm ci builds them via "prepare").
import {execute} from '@oclif/core'

await execute({dir: import.meta.url})
