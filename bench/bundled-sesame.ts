import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = new URL('../../', import.meta.url);
const DEST = fileURLToPath(new URL('dist/bench-bundle/', ROOT));
let built: Promise<string> | undefined;

/**
 * The `sesame` command as the .deb and the npm package install it: the esbuild bundle
 * (scripts/bundle.mjs) of the compiled tree, built once per bench run into dist/bench-bundle
 * (inside the repository, so it finds the netlink addon in node_modules). Returns bin.js.
 */
export function bundledSesame(): Promise<string> {
  built ??= (async () => {
    rmSync(DEST, { recursive: true, force: true });
    const { bundle } = (await import(new URL('scripts/bundle.mjs', ROOT).href)) as {
      bundle: (dest: string) => Promise<void>;
    };
    await bundle(DEST);
    return `${DEST}lib/cli/bin.js`;
  })();
  return built;
}
