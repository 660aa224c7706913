/**
 * For tsconfig.browser.json only, which maps the module `sharp` here. transformers.js' type declarations import
 * sharp (its Node-only image backend), and sharp's declarations pull in all of @types/node: Node's globals would
 * then type-check in browser code. The browser never loads sharp; this empty stand-in keeps Node out of the
 * browser program, so `Buffer`, `process` or a `node:` import there is a type error.
 */
declare const sharp: unknown;
export default sharp;
