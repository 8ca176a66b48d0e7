#!/usr/bin/env node
// The CLI is written in TypeScript; tsx runs it without a build step.
import { tsImport } from 'tsx/esm/api';

await tsImport('../src/cli/index.ts', import.meta.url);
