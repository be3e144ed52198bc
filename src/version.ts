/** The bridge's version, from package.json: in `--version`, the start-up log line and /healthz. */
import pkg from "../package.json";

export const VERSION: string = pkg.version;
