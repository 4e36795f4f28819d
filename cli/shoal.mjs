#!/usr/bin/env node
// The `shoal` bin: runs cli/shoal.ts through tsx's loader, so `npx shoal` works from a checkout
// without a build step.
import { register } from 'tsx/esm/api';

register();
await import('./shoal.ts');
