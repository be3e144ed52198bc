/** Deactivations overtake a backlog on SQLite, one bridge process (see helpers/backlog.ts). */
import { itOvertakesTheBacklog } from "./helpers/backlog";

itOvertakesTheBacklog("sqlite");
