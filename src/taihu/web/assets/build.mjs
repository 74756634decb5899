// Builds the web form assets into the directory given as argument (`make assets` runs it):
// webform.js (our starter with enketo-core and enketo-transformer's web build) and
// formhub.css (Enketo's formhub theme from its Sass sources).
import { writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import * as sass from 'sass';

const out = process.argv[2];
const here = path.dirname(new URL(import.meta.url).pathname);
const require = createRequire(import.meta.url);
const modules = path.resolve('node_modules');
mkdirSync(out, { recursive: true });

await esbuild.build({
    entryPoints: [path.join(here, 'webform.js')],
    bundle: true,
    minify: true,
    format: 'iife',
    target: 'es2020',
    logLevel: 'warning',
    // Only the Node-only `preprocess` hook of enketo-transformer loads it; never in a browser.
    external: ['libxslt'],
    outfile: path.join(out, 'webform.js'),
});

// enketo-core's date widget imports the datepicker's CSS by a path of Enketo's own monorepo
// (/packages/enketo-core/node_modules/...): it is looked up in our node_modules instead.
const MONOREPO = '/packages/enketo-core/node_modules/';
// The theme is scoped to the form's card: unscoped, its html/body/a/button rules restyle the
// console around it.
const theme = path.dirname(require.resolve('enketo-core/src/sass/formhub/formhub.scss'));
const css = sass.compileString('.webform { @import "formhub"; }', {
    loadPaths: [theme],
    style: 'compressed',
    quietDeps: true,
    silenceDeprecations: ['import', 'global-builtin', 'color-functions', 'slash-div'],
    importers: [
        {
            findFileUrl(url) {
                if (!url.startsWith(MONOREPO)) return null;
                return pathToFileURL(path.join(modules, `${url.slice(MONOREPO.length)}.css`));
            },
        },
    ],
});
writeFileSync(path.join(out, 'formhub.css'), css.css);
