// Bundles the site's scripts with esbuild into frontend/static/frontend/build/ (git-ignored; built by ./run).
//   node frontend/js/build.mjs [--watch] [--dev]
import * as esbuild from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const watch = process.argv.includes("--watch");
const dev = watch || process.argv.includes("--dev");

/** @type {import("esbuild").BuildOptions} */
const options = {
  entryPoints: {
    map: path.join(here, "map.js"),
    artwork: path.join(here, "artwork.js"),
    decades: path.join(here, "decades.js"),
  },
  outdir: path.join(here, "..", "static", "frontend", "build"),
  bundle: true,
  splitting: true,
  format: "esm",
  target: ["es2020", "chrome90", "firefox90", "safari15"],
  minify: !dev,
  sourcemap: true,
  chunkNames: "chunk-[hash]",
  legalComments: "linked",
  logLevel: "warning",
};

if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
  console.log("watching frontend/js …");
} else {
  const started = Date.now();
  const result = await esbuild.build({ ...options, metafile: true });
  const bytes = Object.entries(result.metafile.outputs)
    .filter(([name]) => name.endsWith(".js"))
    .reduce((sum, [, out]) => sum + out.bytes, 0);
  if (process.env.BUILD_QUIET !== "1") {
    console.log(`frontend: built ${Math.round(bytes / 1024)} KiB of JS in ${Date.now() - started} ms`);
  }
}
