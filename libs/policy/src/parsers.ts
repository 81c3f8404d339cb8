import { createRequire } from 'node:module';
import { loadModule } from 'libpg-query';
import { Language, Parser } from 'web-tree-sitter';

let loading: Promise<Parser> | undefined;
let bash: Parser | undefined;

/**
 * Loads the real parsers once: PostgreSQL's (libpg-query, WASM) and tree-sitter's bash grammar
 * (WASM, shipped in the npm package — nothing is downloaded). Checks made before this resolves
 * fail closed.
 */
export function loadParsers(): Promise<void> {
  loading ??= (async () => {
    await loadModule();
    await Parser.init();
    const require = createRequire(import.meta.url);
    const language = await Language.load(require.resolve('tree-sitter-bash/tree-sitter-bash.wasm'));
    const parser = new Parser();
    parser.setLanguage(language);
    bash = parser;
    return parser;
  })();
  return loading.then(() => undefined);
}

/** The bash parser, or undefined before loadParsers() has finished. */
export function bashParser(): Parser | undefined {
  return bash;
}
