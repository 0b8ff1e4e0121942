import { defineParleyConfig } from './src/vitest-preset.js';

export default defineParleyConfig();
