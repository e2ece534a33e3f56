import { readdirSync, readFileSync } from 'node:fs';
import type { FilterFs } from './filter-file.js';

/** The real filesystem for readFilterFile: only "does not exist" reads as absent. */
export const nodeFilterFs: FilterFs = {
  readText(path) {
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      throw err;
    }
  },
  list(dir) {
    try {
      return readdirSync(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return [];
      throw err;
    }
  },
};
