// checkVectors runs every case of testdata/e2e/vectors.json against the
// library `lib` (the built library, in Node or in a page) and returns one
// result per case. It is self-contained, so a browser test can pass its
// source to the page and run it there.
export async function checkVectors(lib, v) {
  const { e2e, bytes } = lib;
  const hex = bytes.fromHex;
  const results = [];
  const check = async (name, fn) => {
    try {
      const detail = await fn();
      results.push({ name, ok: detail === undefined, detail });
    } catch (err) {
      results.push({ name, ok: false, detail: String(err && err.stack ? err.stack : err) });
    }
  };
  const ids = {};
  for (const [user, k] of Object.entries(v.keys)) {
    ids[user] = await e2e.importIdentity(hex(k.private), hex(k.public));
    await check(`fingerprint of ${user}`, async () => {
      const f = await e2e.fingerprint(hex(k.public));
      return f === k.fingerprint ? undefined : `got ${f}, want ${k.fingerprint}`;
    });
  }
  for (const p of v.pairs) {
    for (const [me, them] of [[p.a, p.b], [p.b, p.a]]) {
      await check(`pair key ${me} with ${them}`, async () => {
        const got = bytes.toHex(await e2e.pairKeyBytes(ids[me].privateKey, hex(v.keys[them].public), me, them));
        return got === p.key ? undefined : `got ${got}, want ${p.key}`;
      });
    }
  }
  const pairOf = async (a, b) => e2e.pairKey(ids[a].privateKey, hex(v.keys[b].public), a, b);
  const adOf = (m) => ({ sender: m.sender, receiver: m.receiver, group: m.group, clientMsgId: m.client_msg_id });
  for (const m of v.messages) {
    await check(`seal ${m.sender} to ${m.receiver} ${JSON.stringify(m.plaintext)}`, async () => {
      const got = bytes.toHex(await e2e.seal(await pairOf(m.sender, m.receiver), bytes.utf8(m.plaintext), adOf(m), hex(m.nonce)));
      return got === m.payload ? undefined : `got ${got}, want ${m.payload}`;
    });
    await check(`open as ${m.receiver} ${JSON.stringify(m.plaintext)}`, async () => {
      const got = bytes.fromUtf8(await e2e.open(await pairOf(m.receiver, m.sender), hex(m.payload), adOf(m)));
      return got === m.plaintext ? undefined : `got ${JSON.stringify(got)}`;
    });
  }
  for (const b of v.bad) {
    await check(`refuse: ${b.name}`, async () => {
      const m = b.message;
      try {
        await e2e.open(await pairOf(m.receiver, m.sender), hex(m.payload), adOf(m));
        return "opened";
      } catch (err) {
        const want = b.error === "unknown scheme" ? "UnknownSchemeError" : "NotAuthenticError";
        return err.name === want ? undefined : `got ${err.name}: ${err.message}, want ${want}`;
      }
    });
  }
  for (const g of v.groups) {
    const ad = { sender: g.sender, receiver: "", group: g.group, clientMsgId: g.client_msg_id };
    const k = { id: hex(g.key_id), key: hex(g.key) };
    if (g.error) {
      await check(`refuse group post by ${g.sender}: ${g.error}`, async () => {
        try {
          await e2e.openGroup(k.key, hex(g.payload), ad);
          return "opened";
        } catch (err) {
          const want = g.error === "unknown scheme" ? "UnknownSchemeError" : "NotAuthenticError";
          return err.name === want ? undefined : `got ${err.name}: ${err.message}, want ${want}`;
        }
      });
      continue;
    }
    await check(`group post by ${g.sender} to ${g.group} ${JSON.stringify(g.plaintext)}`, async () => {
      const got = bytes.toHex(await e2e.sealGroup(k, bytes.utf8(g.plaintext), ad, hex(g.nonce)));
      if (got !== g.payload) return `sealed ${got}, want ${g.payload}`;
      if (bytes.toHex(e2e.groupKeyId(hex(g.payload))) !== g.key_id) return "wrong key id";
      const opened = bytes.fromUtf8(await e2e.openGroup(k.key, hex(g.payload), ad));
      return opened === g.plaintext ? undefined : `opened ${JSON.stringify(opened)}`;
    });
  }
  return results;
}
