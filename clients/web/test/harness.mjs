// What the tests run: the real server binary (bin/spartan-server, or
// $TEST_SPARTAN_BIN/spartan-server) on a free loopback port with a temporary
// configuration that requires logging in and a bolt store in a temporary
// directory, and the real Go CLI (bin/spartan) on pipes. Every wait is on an
// event (a line of output, a process's exit) with a deadline; processes are
// stopped by PID.
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** WAIT is how long one expected thing may take. */
export const WAIT = 15_000;

export const BIN = process.env.TEST_SPARTAN_BIN || new URL("../../../bin", import.meta.url).pathname;

/** log prints what a test is doing, so a slow step is never silent. */
export function log(...args) {
  console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...args);
}

/** tempDir makes a directory removed by the returned cleanup. */
export async function tempDir(prefix) {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** freePort is a loopback port nobody listens on now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** env is ours without SPARTAN_* (the server reads those as configuration). */
function env(extra = {}) {
  const out = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("SPARTAN_")) out[k] = v;
  return { ...out, ...extra };
}

/** Output collects a stream's text and waits for patterns in it. */
class Output {
  constructor(stream) {
    this.text = "";
    this.closed = false;
    this.waiters = new Set();
    stream.setEncoding("utf8");
    stream.on("data", (d) => {
      this.text += d;
      this.kick();
    });
    stream.on("end", () => {
      this.closed = true;
      this.kick();
    });
  }
  kick() {
    for (const w of [...this.waiters]) w();
  }
  /** waitFor resolves with the first match of pattern at or after start, or rejects at the deadline. */
  waitFor(pattern, start, timeout, what) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const re = typeof pattern === "string" ? null : new RegExp(pattern.source, pattern.flags.replace("g", "") + "g");
        let at = -1;
        let end = -1;
        let match;
        if (re) {
          re.lastIndex = start;
          match = re.exec(this.text);
          if (match) {
            at = match.index;
            end = at + match[0].length;
          }
        } else {
          at = this.text.indexOf(pattern, start);
          end = at + pattern.length;
        }
        if (at >= 0) {
          done();
          resolve({ end, match });
        } else if (this.closed) {
          done();
          reject(new Error(`${what}: the output ended without ${pattern}:\n${this.text}${this.onEnd ? this.onEnd() : ""}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${what}: no ${pattern} within ${timeout} ms; the output so far:\n${this.text}`));
      }, timeout);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }
}

/** Proc is a child process driven through pipes. */
export class Proc {
  constructor(argv, name, opts = {}) {
    this.name = name;
    this.child = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "pipe"], env: env(opts.env), cwd: opts.cwd });
    this.out = new Output(this.child.stdout);
    this.err = new Output(this.child.stderr);
    this.out.onEnd = () => `\n--- ${name} stderr ---\n${this.err.text}`;
    this.pos = 0;
    this.exited = new Promise((resolve) => this.child.on("exit", (code, signal) => resolve({ code, signal })));
  }
  /** expect waits for text after the previous match and moves past it. */
  async expect(text, timeout = WAIT) {
    const { end, match } = await this.out.waitFor(text, this.pos, timeout, this.name);
    this.pos = end;
    return match;
  }
  /** send types a line. */
  send(line) {
    this.child.stdin.write(line + "\n");
  }
  /** stop ends the process by PID (SIGTERM, then SIGKILL) and waits for it. */
  async stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    this.child.kill("SIGTERM");
    const t = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    const r = await this.exited;
    clearTimeout(t);
    return r;
  }
}

/**
 * Server is one spartan-server in its own directory (its bolt store there),
 * restartable on the same port.
 */
export class Server {
  /**
   * start writes config.yaml (auth: the auth section, e.g. "{required: true,
   * token_minutes: 0.05}"; send: the send class's limit, e.g. "calls: 2,
   * window_seconds: 1, burst: 2") and starts the server.
   */
  static async start({ dir, users = ["alice", "bob", "charlie", "eve"], auth = "{required: true}", send = "calls: 100000, window_seconds: 1", extra = "" }) {
    const s = new Server(dir, await freePort());
    await writeFile(
      join(dir, "config.yaml"),
      [
        `users: [${users.join(", ")}]`,
        `auth: ${auth}`,
        // Generous: every client of a test logs in from 127.0.0.1, and the
        // log-in class counts per address (120 a minute by default).
        `rate: {${send}, classes: {login: {calls: 100000, window_seconds: 1, burst: 100000}}}`,
        `store: {kind: bolt, path: ${join(dir, "spartan.db")}}`,
        extra,
      ].join("\n") + "\n",
    );
    await s.start();
    return s;
  }
  constructor(dir, port) {
    this.dir = dir;
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
  }
  async start() {
    this.proc = new Proc(
      [join(BIN, "spartan-server"), "-config", join(this.dir, "config.yaml"), "-host", "127.0.0.1", "-port", String(this.port)],
      "spartan-server",
      { cwd: this.dir },
    );
    try {
      await this.proc.expect(/Spartan server started on port \d+\./);
    } catch (err) {
      await this.proc.stop();
      throw new Error(`the server did not start: ${err.message}\n${this.proc.err.text}`);
    }
  }
  async stop() {
    return this.proc?.stop();
  }
}
