/**
 * The bridge's command line as an operator runs it: compiled once per test file into a folder of its own,
 * run as a process with the sources' node_modules, its exit code, stdout and stderr captured.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const REPO = resolve(__dirname, "../..");

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CompiledCli {
  dir: string;
  /** Runs a command to its end (at most `timeoutMs`; a command that hangs fails the test). */
  run(args: string[], options?: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number }): Promise<CliRun>;
  /** Starts a long-running command (serve); its output accumulates in `output()`. */
  start(args: string[], options?: { env?: NodeJS.ProcessEnv; cwd?: string }): RunningCli;
  remove(): void;
}

export interface RunningCli {
  child: ChildProcess;
  output(): { stdout: string; stderr: string };
  /** Resolves with the first match of `pattern` in stdout (rejects if the process ends first). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

export function compileCli(): CompiledCli {
  const dir = mkdtempSync(join(tmpdir(), "scim-bridge-cli-"));
  execFileSync(process.execPath, [join(REPO, "node_modules/typescript/bin/tsc"), "-p", join(REPO, "tsconfig.build.json"), "--outDir", join(dir, "dist")], {
    cwd: REPO,
  });
  const cli = join(dir, "dist/src/cli.js");
  const envOf = (env: NodeJS.ProcessEnv = {}) => ({ PATH: process.env.PATH, NODE_PATH: join(REPO, "node_modules"), ...env });

  function start(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): RunningCli {
    const child = spawn(process.execPath, [cli, ...args], { cwd: options.cwd ?? REPO, env: envOf(options.env), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const waiters: (() => void)[] = [];
    const wake = () => waiters.forEach((w) => w());
    child.stdout!.on("data", (chunk: Buffer) => ((stdout += chunk.toString()), wake()));
    child.stderr!.on("data", (chunk: Buffer) => ((stderr += chunk.toString()), wake()));
    const exited = new Promise<number | null>((done) => child.once("close", (code) => (wake(), done(code))));
    let ended = false;
    void exited.then(() => (ended = true));
    return {
      child,
      exited,
      output: () => ({ stdout, stderr }),
      waitFor(pattern, timeoutMs = 20_000) {
        return new Promise((resolveMatch, reject) => {
          const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms; stdout: ${stdout}\nstderr: ${stderr}`)), timeoutMs);
          const check = () => {
            const match = new RegExp(pattern.source, pattern.flags.replace("g", "")).exec(stdout);
            if (match) return (clearTimeout(timer), resolveMatch(match));
            if (ended) return (clearTimeout(timer), reject(new Error(`the process ended before ${pattern}; stdout: ${stdout}\nstderr: ${stderr}`)));
          };
          waiters.push(check);
          check();
          void exited.then(() => setImmediate(check));
        });
      },
    };
  }

  return {
    dir,
    start,
    async run(args, options = {}) {
      const running = start(args, options);
      const timer = setTimeout(() => running.child.kill("SIGKILL"), options.timeoutMs ?? 20_000);
      const code = await running.exited;
      clearTimeout(timer);
      return { code, ...running.output() };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
