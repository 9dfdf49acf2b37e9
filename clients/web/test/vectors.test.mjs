// The shared vectors of the end-to-end scheme (testdata/e2e/vectors.json),
// checked with WebCrypto under Node, as clients/go/e2e and the Python
// client check them. test/browser.test.mjs runs the same checks in Chromium.
import { test } from "node:test";
import { readFile } from "node:fs/promises";
import { checkVectors } from "./vectors.mjs";
import * as lib from "../build/lib.mjs";

const vectors = JSON.parse(await readFile(new URL("../../../testdata/e2e/vectors.json", import.meta.url), "utf8"));

test("testdata/e2e/vectors.json under Node's WebCrypto", async (t) => {
  const results = await checkVectors(lib, vectors);
  for (const r of results) {
    await t.test(r.name, () => {
      if (!r.ok) throw new Error(r.detail);
    });
  }
});
