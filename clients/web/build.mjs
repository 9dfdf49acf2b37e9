// Builds the web client with the pinned esbuild:
//   dist/      the single-page chat (index.html, app.js, app.css), checked in
//              and embedded in the server (internal/webui);
//   build/     the library as one ES module for Node's tests (lib.mjs) and
//              as a script for the browser tests (lib.iife.js); not checked in.
// Output is deterministic, so `make checkweb` can compare dist/ with git.
import * as esbuild from "esbuild";
import { copyFile, mkdir } from "node:fs/promises";

const here = new URL(".", import.meta.url).pathname;
const common = { bundle: true, target: "es2022", legalComments: "none", logLevel: "warning", absWorkingDir: here };

// --lib builds only build/ (the tests' copy of the library).
const libOnly = process.argv.includes("--lib");

await mkdir(`${here}dist`, { recursive: true });
const page = libOnly
  ? []
  : [
      esbuild.build({ ...common, entryPoints: ["src/app/main.ts"], outfile: "dist/app.js", format: "iife", minify: true, platform: "browser" }),
      copyFile(`${here}src/app/index.html`, `${here}dist/index.html`),
      copyFile(`${here}src/app/app.css`, `${here}dist/app.css`),
    ];
await Promise.all([
  ...page,
  esbuild.build({ ...common, entryPoints: ["src/lib/index.ts"], outfile: "build/lib.mjs", format: "esm", platform: "neutral" }),
  esbuild.build({ ...common, entryPoints: ["src/lib/index.ts"], outfile: "build/lib.iife.js", format: "iife", globalName: "SpartanLib", platform: "browser" }),
]);
console.log(libOnly ? "built build/ (the library for the tests)" : "built dist/ (the page) and build/ (the library for the tests)");
