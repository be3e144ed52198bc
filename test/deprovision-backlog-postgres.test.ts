/** Deactivations overtake a backlog on PostgreSQL, two bridge processes sharing the database (see helpers/backlog.ts). */
import { itOvertakesTheBacklog } from "./helpers/backlog";

itOvertakesTheBacklog("postgres");
