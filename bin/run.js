#!/usr/bin/env node
// Production launcher: runs the compiled commands in dist/ (npm ci builds them via "prepare").
import {enableCompileCache} from '../dist/cli/compile-cache.js'

enableCompileCache() // before oclif loads: see src/cli/compile-cache.ts
const {execute} = await import('@oclif/core')
await execute({dir: import.meta.url})
